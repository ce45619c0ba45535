import Foundation
import Testing
@testable import ProcmgrConfig

/// `ConfigLoader.mergeFleet`: etcd's desired-state keys merged with the local overrides, each
/// bad key rejected alone with its problems, the rest applied.
@Suite("Fleet merge")
struct FleetMergeTests {
    static let header = FleetConfigTests.etcd(FleetConfigTests.endpoint, "node: n1")

    private func config(_ processes: String = "") throws -> AgentConfig {
        try Support.load(Self.header + (processes.isEmpty ? "" : "processes:\n" + processes))
    }

    private func entry(_ id: String, _ json: String, scope: FleetEntry.Scope = .all) -> FleetEntry {
        let key = scope == .node ? "/procmgr/nodes/n1/processes/\(id)" : "/procmgr/all/processes/\(id)"
        return FleetEntry(key: key, id: id, scope: scope, value: Array(json.utf8))
    }

    /// Each rejected key with its problem lines.
    private func rejected(_ merge: FleetMerge) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: merge.rejected.map { ($0.key, $0.error.lines) })
    }

    @Test("a node entry replaces the all entry of the same id, whatever the order; specs sorted by id")
    func nodeOverridesAll() throws {
        let entries = [
            entry("web", #"{"command": ["from-all"]}"#),
            entry("web", #"{"command": ["from-node"]}"#, scope: .node),
            entry("api", #"{"command": ["api"]}"#),
            entry("only-node", #"{"command": ["n"]}"#, scope: .node),
        ]
        for order in [entries, entries.reversed()] {
            let merge = try ConfigLoader.mergeFleet(order, into: config())
            #expect(merge.specs.map(\.id) == ["api", "only-node", "web"])
            #expect(merge.specs.first { $0.id == "web" }?.command == ["from-node"])
            #expect(merge.rejected.isEmpty)
        }
    }

    @Test("local overrides merge field by field, exactly like the admin source")
    func localOverride() throws {
        let local = "  - id: web\n    env: { B: \"3\", C: \"4\" }\n    port: null\n    restart: on-failure\n"
        let merge = try ConfigLoader.mergeFleet([
            entry("web", #"{"command": ["srv"], "env": {"A": "1", "B": "2"}, "port": 8080, "grace_period": "5s"}"#),
        ], into: config(local))
        let web = try #require(merge.specs.first)
        #expect(web.env == ["A": "1", "B": "3", "C": "4"])
        #expect(web.port == .none)  // null removes the entry's port
        #expect(web.restart == .onFailure)
        #expect(web.gracePeriod == .seconds(5))  // untouched entry field
        #expect(web.command == ["srv"])
    }

    @Test("a missing id is the key's id; a different id rejects the key alone")
    func ids() throws {
        let merge = try ConfigLoader.mergeFleet([
            entry("web", #"{"command": ["w"]}"#),
            entry("api", #"{"id": "apx", "command": ["a"]}"#),
            entry("num", #"{"id": 5, "command": ["n"]}"#),
            entry("same", #"{"id": "same", "command": ["s"]}"#),
        ], into: config())
        #expect(merge.specs.map(\.id) == ["same", "web"])
        #expect(rejected(merge) == [
            "/procmgr/all/processes/api": [#"/procmgr/all/processes/api:id: "apx" does not match the key's id "api""#],
            "/procmgr/all/processes/num": [#"/procmgr/all/processes/num:id: 5 does not match the key's id "api""#.replacingOccurrences(of: "\"api\"", with: "\"num\"")],
        ])
    }

    @Test("a value that is not one JSON object, or over the reader's limits, is rejected alone; the rest applies")
    func invalidJSON() throws {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let local = "  - id: broken\n    env: { A: \"1\" }\n"  // the override of a rejected key leaves with it
        let merge = try ConfigLoader.mergeFleet([
            entry("broken", #"{"command": ["x""#),
            entry("list", #"[{"command": ["x"]}]"#),
            entry("empty", ""),
            entry("deep", #"{"command": "# + deep + "}"),
            entry("big", #"{"command": ["x"], "env": {"K": ""# + String(repeating: "x", count: 5 << 20) + #""}}"#),
            entry("good", #"{"command": ["g"]}"#),
        ], into: config(local))
        #expect(merge.specs.map(\.id) == ["good"])
        #expect(merge.rejected.map(\.key) == ["big", "broken", "deep", "empty", "list"].map { "/procmgr/all/processes/\($0)" })
        let errors = Dictionary(uniqueKeysWithValues: merge.rejected.map { ($0.key, $0.error) })
        #expect(errors["/procmgr/all/processes/broken"]?.code == .syntax)
        #expect(errors["/procmgr/all/processes/broken"]?.lines.allSatisfy { $0.hasPrefix("/procmgr/all/processes/broken") } == true)
        #expect(errors["/procmgr/all/processes/list"]?.lines == [
            "/procmgr/all/processes/list: expected a JSON object (one processes[] entry), got an array",
        ])
        #expect(errors["/procmgr/all/processes/empty"]?.lines == ["/procmgr/all/processes/empty: the document is empty"])
        #expect(errors["/procmgr/all/processes/deep"]?.code == .limit)
        #expect(errors["/procmgr/all/processes/big"]?.code == .limit)
        #expect(errors["/procmgr/all/processes/big"]?.lines.first?.hasPrefix("/procmgr/all/processes/big: the document is") == true)
    }

    @Test("a value that fails validation alone is rejected with its key as document label")
    func invalidAlone() throws {
        let merge = try ConfigLoader.mergeFleet([
            entry("web", #"{"command": [], "port": "bogus", "restart": "maybe"}"#),
            entry("in-range", #"{"command": ["x"], "port": 30500}"#),
            entry("ok", #"{"command": ["x"]}"#),
        ], into: config())
        #expect(merge.specs.map(\.id) == ["ok"])
        #expect(rejected(merge) == [
            "/procmgr/all/processes/web": [
                "/procmgr/all/processes/web:command: must be a non-empty array of strings",
                #"/procmgr/all/processes/web:port: "bogus" is not auto, none or a port number (1-65535)"#,
                #"/procmgr/all/processes/web:restart: "maybe" is not one of always, on-failure, never"#,
            ],
            "/procmgr/all/processes/in-range": [
                "/procmgr/all/processes/in-range:port: 30500 is inside agent.ports.range (30000-31000), which is kept for port: auto; "
                    + "choose a port outside it or narrow the range",
            ],
        ])
    }

    @Test("a local override that breaks its entry rejects that entry, not the set")
    func overrideBreaksEntry() throws {
        let local = "  - id: web\n    port: none\n"
        let merge = try ConfigLoader.mergeFleet([
            entry("web", #"{"command": ["srv", "--port", "${PORT}"], "port": "auto"}"#),
            entry("api", #"{"command": ["api"]}"#),
        ], into: config(local))
        #expect(merge.specs.map(\.id) == ["api"])
        #expect(rejected(merge) == [
            "/procmgr/all/processes/web": ["/procmgr/all/processes/web:command[2]: uses ${PORT} but the process has no port (set port: auto or a number)"],
        ])
    }

    @Test("two entries on one fixed port: the later id (b) is rejected, the problem points at it; a runs")
    func portCollision() throws {
        let entries = [entry("b", #"{"command": ["b"], "port": 8080}"#), entry("a", #"{"command": ["a"], "port": 8080}"#)]
        for order in [entries, entries.reversed()] {
            let merge = try ConfigLoader.mergeFleet(order, into: config())
            #expect(merge.specs.map(\.id) == ["a"])
            #expect(rejected(merge) == [
                "/procmgr/all/processes/b": ["/procmgr/all/processes/b:port: 8080 is also the fixed port of /procmgr/all/processes/a"],
            ])
        }
    }

    @Test("an entry colliding with a local-only process is the one rejected")
    func collisionWithLocal() throws {
        let local = "  - id: local\n    command: [l]\n    port: 8080\n"
        let merge = try ConfigLoader.mergeFleet([entry("a", #"{"command": ["a"], "port": 8080}"#)], into: config(local))
        #expect(merge.specs.map(\.id) == ["local"])
        #expect(rejected(merge) == ["/procmgr/all/processes/a": ["/procmgr/all/processes/a:port: 8080 is also the fixed port of processes[0]"]])
    }

    @Test("rejection cascades: a dependency on a rejected key rejects the dependent and its dependents")
    func cascade() throws {
        let merge = try ConfigLoader.mergeFleet([
            entry("db", #"{"command": ["db"], "port": 8080}"#),
            entry("cache", #"{"command": ["c"], "port": 8080}"#),  // "db" sorts after "cache": db is rejected
            entry("web", #"{"command": ["w"], "depends_on": ["db"]}"#),
            entry("edge", #"{"command": ["e"], "depends_on": {"web": {"condition": "started"}}}"#),
            entry("api", #"{"command": ["a"]}"#),
        ], into: config())
        #expect(merge.specs.map(\.id) == ["api", "cache"])
        #expect(rejected(merge) == [
            "/procmgr/all/processes/db": ["/procmgr/all/processes/db:port: 8080 is also the fixed port of /procmgr/all/processes/cache"],
            "/procmgr/all/processes/web": [#"/procmgr/all/processes/web:depends_on[0]: depends on "db", whose key /procmgr/all/processes/db is rejected"#],
            "/procmgr/all/processes/edge": [
                #"/procmgr/all/processes/edge:depends_on.web: depends on "web", whose key /procmgr/all/processes/web is rejected"#,
            ],
        ])
    }

    @Test("auto ports beyond agent.ports.range: each entry that does not fit is rejected, first come first served")
    func portCapacity() throws {
        let config = try Support.load(Self.header + "  ports: { range: \"30000-30009\" }\n")
        let merge = try ConfigLoader.mergeFleet([
            entry("a", #"{"command": ["a"], "port": "auto", "replicas": 8}"#),
            entry("b", #"{"command": ["b"], "port": "auto", "replicas": 3}"#),
            entry("c", #"{"command": ["c"], "port": "auto"}"#),
            entry("d", #"{"command": ["d"], "port": "auto"}"#),
            entry("e", #"{"command": ["e"], "port": "auto"}"#),
        ], into: config)
        #expect(merge.specs.map(\.id) == ["a", "c", "d"])  // 8 + 1 + 1 = 10 ports
        let message = "14 processes use port: auto but agent.ports.range (30000-30009) holds 10 ports; "
            + "widen the range or give some processes fixed ports outside it"
        #expect(rejected(merge) == [
            "/procmgr/all/processes/b": ["/procmgr/all/processes/b:port: \(message)"],
            "/procmgr/all/processes/e": ["/procmgr/all/processes/e:port: \(message)"],
        ])
    }

    @Test("a rejected node entry does not fall back to the all entry")
    func noFallback() throws {
        let merge = try ConfigLoader.mergeFleet([
            entry("web", #"{"command": ["all"]}"#),
            entry("web", #"{"command": 5}"#, scope: .node),
        ], into: config())
        #expect(merge.specs.isEmpty)
        #expect(merge.rejected.map(\.key) == ["/procmgr/nodes/n1/processes/web"])
    }

    @Test("a local override that makes every set invalid throws")
    func localBreaksEverything() throws {
        let config = try config("  - id: nowhere\n    port: auto\n")
        let entries = [entry("a", #"{"command": ["a"]}"#)]
        #expect(throws: ConfigError(code: .invalid, problems: [
            ConfigProblem(path: ConfigPath(components: [.key("processes"), .index(0), .key("command")]), message: "is required"),
        ])) {
            try ConfigLoader.mergeFleet(entries, into: config)
        }
        do {
            _ = try ConfigLoader.mergeFleet([], into: config)
            Issue.record("expected the local override to be refused")
        } catch {
            #expect(error.lines == ["processes[0].command: is required"])
        }
    }

    @Test("1,000 entries merge (measured, not asserted)")
    func thousand() throws {
        var entries = (0..<1000).map { index in
            entry(String(format: "p%04d", index), #"{"command": ["run", "\#(index)"], "port": \#(index < 500 ? "\"auto\"" : "\(20000 + index)")}"#)
        }
        entries += (0..<100).map { entry(String(format: "p%04d", $0 * 10), #"{"command": ["node"]}"#, scope: .node) }
        let local = (0..<50).map { "  - id: " + String(format: "p%04d", $0 * 20) + "\n    env: { X: \"1\" }\n" }.joined()
        let config = try config(local)
        let clock = ContinuousClock()
        var merge: FleetMerge?
        let clean = try clock.measure { merge = try ConfigLoader.mergeFleet(entries, into: config) }
        #expect(merge?.specs.count == 1000)
        #expect(merge?.rejected.isEmpty == true)

        // Ten collisions with p0701, p0703, ... (no node entry replaces those): rejected in one pass.
        for index in 0..<10 { entries.append(entry(String(format: "q%04d", index), #"{"command": ["q"], "port": \#(20701 + 2 * index)}"#)) }
        let colliding = try clock.measure { merge = try ConfigLoader.mergeFleet(entries, into: config) }
        #expect(merge?.specs.count == 1000)
        #expect(merge?.rejected.count == 10)
        print("FleetMerge timing: 1,000 entries \(clean); with 10 colliding \(colliding)")
    }

    @Test("a chain of 1,000 dependencies whose root is rejected settles without a pass per link (measured)")
    func thousandChain() throws {
        var entries = [entry("c0000", #"{"command": 5}"#)]
        entries += (1..<1000).map { index in
            entry(String(format: "c%04d", index), #"{"command": ["c"], "depends_on": ["\#(String(format: "c%04d", index - 1))"]}"#)
        }
        entries.append(entry("free", #"{"command": ["f"]}"#))
        let config = try config()
        var merge: FleetMerge?
        let duration = try ContinuousClock().measure { merge = try ConfigLoader.mergeFleet(entries, into: config) }
        #expect(merge?.specs.map(\.id) == ["free"])
        #expect(merge?.rejected.count == 1000)
        print("FleetMerge timing: chain of 1,000 with its root rejected \(duration)")
    }
}
