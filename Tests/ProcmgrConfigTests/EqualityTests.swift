import Testing
@testable import ProcmgrConfig

/// The reconciler restarts exactly the processes whose spec changed, so spec
/// equality must track the effective configuration and nothing else.
@Suite("Spec equality")
struct EqualityTests {
    static let base = """
    processes:
      - id: a
        command: [bin/a, "${PORT}"]
        port: auto
        env: { X: "1", Y: "2" }
        health: { http: { path: /s } }
      - id: b
        command: [bin/b]
        restart: on-failure
      - id: c
        command: [bin/c]
        log_file: { path: logs/c.log }
    """

    private func specs(_ text: String) throws -> [String: ProcessSpec] {
        Dictionary(uniqueKeysWithValues: try Support.load(text, base: "/srv").processes.map { ($0.id, $0) })
    }

    /// Ids whose spec differs between the two documents.
    private func changed(_ old: String, _ new: String) throws -> Set<String> {
        let before = try specs(old), after = try specs(new)
        return Set(before.keys.filter { before[$0] != after[$0] })
    }

    @Test("changing one field of one process changes only that process", arguments: [
        ("restart: on-failure", "restart: never", "b"),
        ("command: [bin/b]", "command: [bin/b, -v]", "b"),
        ("env: { X: \"1\", Y: \"2\" }", "env: { X: \"1\", Y: \"3\" }", "a"),
        ("health: { http: { path: /s } }", "health: { http: { path: /s, timeout: 3s } }", "a"),
        ("port: auto", "port: 8080", "a"),
        ("log_file: { path: logs/c.log }", "log_file: { path: logs/c.log, keep: 4 }", "c"),
        ("log_file: { path: logs/c.log }", "log_file: { path: logs/c2.log }", "c"),
    ])
    func oneFieldChanged(old: String, new: String, id: String) throws {
        let edited = Self.base.replacingOccurrences(of: old, with: new)
        #expect(edited != Self.base)
        #expect(try changed(Self.base, edited) == [id])
    }

    @Test("reordering processes changes nothing")
    func reorderProcesses() throws {
        let reordered = """
        processes:
          - id: c
            command: [bin/c]
            log_file: { path: logs/c.log }
          - id: b
            restart: on-failure
            command: [bin/b]
          - id: a
            health: { http: { path: /s } }
            env: { Y: "2", X: "1" }
            port: auto
            command: [bin/a, "${PORT}"]
        """
        #expect(try specs(Self.base) == specs(reordered))
        #expect(try changed(Self.base, reordered).isEmpty)
    }

    @Test("spelling a default out, or a duration differently, changes nothing")
    func equivalentSpellings() throws {
        let explicit = Self.base.replacingOccurrences(
            of: "restart: on-failure",
            with: "restart: on-failure\n    port: none\n    grace_period: 10000ms\n    stop_signal: sigterm\n    working_dir: ./x/..\n    backoff: { max: 1m, multiplier: 2.0 }\n    env: {}"
        )
        #expect(try changed(Self.base, explicit).isEmpty)
    }

    @Test("a relative path compares by its resolved value")
    func resolvedPaths() throws {
        let a = try Support.load(Support.process("working_dir: app"), base: "/srv").processes[0]
        let b = try Support.load(Support.process("working_dir: /srv/app"), base: "/tmp").processes[0]
        let c = try Support.load(Support.process("working_dir: app"), base: "/opt").processes[0]
        #expect(a == b)
        #expect(a != c)
    }

    @Test("equal specs hash equally")
    func hashing() throws {
        let one = try Support.spec("env: { A: a, B: b }", "port: auto")
        let two = try Support.spec("port: auto", "env: { B: b, A: a }")
        #expect(Set([one, two]).count == 1)
    }

    @Test("config nodes compare by content, not position or key order")
    func nodeEquality() throws {
        let a = try ConfigLoader.parseNodes(data: .init("x: 1\ny: [a, b]\n".utf8), format: .yaml)
        let b = try ConfigLoader.parseNodes(data: .init(#"{"y": ["a", "b"], "x": 1}"#.utf8), format: .json)
        let c = try ConfigLoader.parseNodes(data: .init(#"{"y": ["b", "a"], "x": 1}"#.utf8), format: .json)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != c)
    }
}
