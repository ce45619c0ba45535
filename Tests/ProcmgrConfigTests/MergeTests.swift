import Foundation
import Testing
@testable import ProcmgrConfig

@Suite("Admin merge")
struct MergeTests {
    static let adminHeader = "agent:\n  admin: { url: \"http://127.0.0.1:8080/instances\" }\n"

    static let adminResponse = """
    {"processes": [
      {"id": "api-1", "command": ["bin/api", "--port", "${PORT}"], "port": "auto",
       "env": {"A": "1", "B": "2"},
       "backoff": {"initial": "1s", "max": "30s"},
       "health": {"http": {"path": "/status", "interval": "5s"}},
       "heartbeat": {"interval": "1s", "timeout": "5s"},
       "restart": "always"},
      {"id": "api-2", "command": ["bin/api2"]}
    ]}
    """

    static let localOverrides = adminHeader + """
    processes:
      - id: api-1
        env: { B: x, C: y, A: null }
        backoff: { max: 2m }
        health: { http: { timeout: 1s } }
        heartbeat: null
        restart: never
      - id: local-only
        command: [bin/local]
    """

    private func merged(local: String = localOverrides, admin: String = adminResponse) throws(ConfigError) -> [ProcessSpec] {
        let config = try Support.load(local, base: "/srv")
        return try ConfigLoader.mergeAdmin(response: Data(admin.utf8), into: config)
    }

    private func mergeProblems(local: String = localOverrides, admin: String) -> [String] {
        do {
            _ = try merged(local: local, admin: admin)
            return []
        } catch {
            return error.lines
        }
    }

    @Test("in admin mode local entries are overrides: kept as nodes, not specs")
    func overridesKept() throws {
        let config = try Support.load(Self.localOverrides)
        #expect(config.processes.isEmpty)
        #expect(config.overrides.count == 2)
        #expect(config.overrides[0]["id"]?.stringValue == "api-1")
    }

    @Test("overrides replace only the fields they set, nested blocks key by key")
    func fieldByField() throws {
        let specs = try merged()
        let api = try #require(specs.first { $0.id == "api-1" })
        #expect(api.command == ["bin/api", "--port", "${PORT}"])  // from admin
        #expect(api.port == .auto)  // from admin
        #expect(api.env == ["B": "x", "C": "y"])  // merged; A removed by null
        #expect(api.backoff.initial == .seconds(1))  // admin
        #expect(api.backoff.max == .seconds(120))  // local
        #expect(api.liveness == ProbeSpec(action: .http(path: "/status", port: .processPort, headers: [:]), interval: .seconds(5), timeout: .seconds(1)))
        #expect(api.heartbeat == nil)  // removed by null
        #expect(api.restart == .never)  // local
        #expect(api.workingDir == "/srv")
    }

    @Test("admin order first, then local-only additions in local order")
    func ordering() throws {
        #expect(try merged().map(\.id) == ["api-1", "api-2", "local-only"])
    }

    @Test("untouched admin processes come through unchanged")
    func untouched() throws {
        let api2 = try #require(try merged().first { $0.id == "api-2" })
        #expect(api2 == ProcessSpec(id: "api-2", command: ["bin/api2"], workingDir: "/srv"))
    }

    @Test("arrays in an override replace the admin array whole")
    func arraysReplaced() throws {
        let local = Self.adminHeader + "processes:\n  - id: api-1\n    command: [bin/other, \"${PORT}\"]"
        let api = try #require(try merged(local: local).first)
        #expect(api.command == ["bin/other", "${PORT}"])
    }

    @Test("problems in admin fields carry admin paths")
    func adminPaths() {
        let admin = #"{"processes": [{"id": "a", "command": ["x"]}, {"id": "b", "command": ["y"], "port": "bogus", "restart": "maybe"}]}"#
        #expect(mergeProblems(local: Self.adminHeader, admin: admin) == [
            #"admin:processes[1].port: "bogus" is not auto, none or a port number (1-65535)"#,
            #"admin:processes[1].restart: "maybe" is not one of always, on-failure, never"#,
        ])
    }

    @Test("a missing required field of an admin process is reported at the admin path")
    func adminMissingField() {
        #expect(mergeProblems(local: Self.adminHeader, admin: #"{"processes": [{"id": "a"}]}"#) == [
            "admin:processes[0].command: is required",
        ])
    }

    @Test("a local-only entry must be complete once merged")
    func incompleteLocalOnly() {
        let local = Self.adminHeader + "processes:\n  - id: nowhere\n    port: auto"
        #expect(mergeProblems(local: local, admin: #"{"processes": []}"#) == ["processes[0].command: is required"])
    }

    @Test("cross-document checks name both documents")
    func crossDocument() {
        let local = Self.adminHeader + "processes:\n  - id: b\n    command: [b]\n    port: 8080\n  - id: c\n    command: [c]\n    port: 8080"
        let admin = #"{"processes": [{"id": "a", "command": ["a"], "port": 8080}, {"id": "a", "command": ["x"]}]}"#
        #expect(mergeProblems(local: local, admin: admin) == [
            #"admin:processes[1].id: "a" is a duplicate of admin:processes[0].id"#,
            "processes[0].port: 8080 is also the fixed port of admin:processes[0]",
            "processes[1].port: 8080 is also the fixed port of admin:processes[0]",
        ])
    }

    @Test("an override can make an admin field invalid in context; the message points at the admin field")
    func overrideBreaksAdmin() {
        let local = Self.adminHeader + "processes:\n  - id: api-1\n    port: none\n    health: null"
        #expect(mergeProblems(local: local, admin: Self.adminResponse) == [
            "admin:processes[0].command[2]: uses ${PORT} but the process has no port (set port: auto or a number)",
        ])
    }

    @Test("invalid override values are reported when the local file loads")
    func invalidOverrides() {
        let local = Self.adminHeader + "processes:\n  - id: api-1\n    port: lots\n    env: { N: 3 }\n  - port: auto"
        #expect(Support.problems(local) == [
            #"processes[0].env.N: expected a string, got a number (quote it: "3")"#,
            #"processes[0].port: "lots" is not auto, none or a port number (1-65535)"#,
            "processes[1].id: is required",
        ])
    }

    @Test("admin documents are checked structurally")
    func adminStructure() {
        #expect(mergeProblems(admin: #"{"procs": []}"#) == [
            "admin:procs: unknown key (expected one of: processes)",
            "admin:processes: is required",
        ])
        #expect(mergeProblems(admin: #"[]"#) == ["admin: expected a mapping, got an array"])
        #expect(mergeProblems(admin: #"{"processes": {}}"#) == ["admin:processes: expected an array of processes, got a mapping"])
        #expect(mergeProblems(admin: "{\"processes\": [}") == ["admin: JSON syntax error at line 1, column 16: unexpected '}', expected a value"])
        #expect(mergeProblems(admin: "") == ["admin: the document is empty"])
    }

    @Test("merging node trees directly: mappings merge, scalars and arrays replace, null removes")
    func nodeMerge() {
        let admin = ConfigNode.mapping([
            "id": "a", "command": ["x", "y"], "env": .mapping(["K": "1", "L": "2"]), "port": 8080, "health": .mapping(["http": .mapping(["path": "/"])]),
        ]).rebased(at: ConfigPath(document: "admin", components: [.key("processes"), .index(0)]))
        let local = ConfigNode.mapping([
            "id": "a", "command": ["z"], "env": .mapping(["L": nil, "M": "3"]), "health": nil, "restart": "never",
        ]).rebased(at: ConfigPath(components: [.key("processes"), .index(0)]))
        let merged = ConfigMerger.merge(admin: [admin], overrides: [local])
        #expect(merged == [ConfigNode.mapping([
            "id": "a", "command": ["z"], "env": .mapping(["K": "1", "M": "3"]), "port": 8080, "restart": "never",
        ])])
        #expect(merged[0].path.description == "admin:processes[0]")
        #expect(merged[0]["port"]?.path.description == "admin:processes[0].port")
        #expect(merged[0]["command"]?.path.description == "processes[0].command")
        #expect(merged[0]["env"]?["K"]?.path.description == "admin:processes[0].env.K")
        #expect(merged[0]["env"]?["M"]?.path.description == "processes[0].env.M")
    }

    @Test("an override with no matching admin id is appended without its nulls")
    func appendedWithoutNulls() {
        let local = ConfigNode.mapping(["id": "new", "command": ["n"], "health": nil])
        let merged = ConfigMerger.merge(admin: [], overrides: [local])
        #expect(merged == [ConfigNode.mapping(["id": "new", "command": ["n"]])])
    }
}
