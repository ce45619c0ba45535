import Foundation
import Testing
@testable import ProcmgrConfig

@Suite("YAML and JSON")
struct FormatTests {
    @Test("the same config in YAML and JSON gives equal models")
    func yamlEqualsJSON() throws {
        let yaml = try Support.load(Fixtures.fullYAML, format: .yaml, base: "/srv/app")
        let json = try Support.load(Fixtures.fullJSON, format: .json, base: "/srv/app")
        #expect(yaml == json)
        #expect(yaml.processes.count == 2)
    }

    @Test("the full example loads with every field as written")
    func fullExample() throws {
        let config = try Support.load(Fixtures.fullYAML, base: "/srv/app")
        #expect(config.agent.listen == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(config.agent.portRange == PortRange(lower: 30000, upper: 31000))
        #expect(config.agent.orphans == .adopt)
        #expect(config.agent.stateDir == "/srv/app/.procmgr")
        #expect(config.agent.tokenFile == "/etc/procmgr/token")
        let api = try #require(config.process(id: "api-1"))
        #expect(api.command == ["dist/bin/servicehost", "-wasm", "apps/a.wasm", "-port", "${PORT}"])
        #expect(api.env == ["LOG_LEVEL": "info", "REGION": "eu-1"])
        #expect(api.workingDir == "/srv/app")
        #expect(api.port == .auto)
        #expect(api.hostnames == ["a.example.test"])
        #expect(api.stopSignal == .int)
        #expect(api.liveness == ProbeSpec(.liveness, action: .http(path: "/api/status", port: .processPort, headers: [:])))
        #expect(api.heartbeat == HeartbeatSpec())
        #expect(api.logFile == LogFileSpec(path: "/srv/app/logs/api-1.log", maxBytes: 10 * 1024 * 1024, keep: 3))
        let worker = try #require(config.process(id: "worker"))
        #expect(worker.port == .fixed(8081))
        #expect(worker.restart == .onFailure)
    }

    @Test("format follows the extension", arguments: [
        ("c.json", ConfigFormat.json), ("c.JSON", .json), ("c.yaml", .yaml), ("c.yml", .yaml),
    ])
    func formatFromExtension(path: String, format: ConfigFormat) {
        #expect(ConfigFormat.fromExtension(of: path) == format)
    }

    @Test("unknown extensions say nothing")
    func unknownExtension() {
        #expect(ConfigFormat.fromExtension(of: "procmgr.conf") == nil)
        #expect(ConfigFormat.fromExtension(of: "procmgr") == nil)
    }

    @Test("content decides when the format is unknown")
    func sniffing() throws {
        #expect(ConfigFormat.sniff(Data("  \n{\"processes\": []}".utf8)) == .json)
        #expect(ConfigFormat.sniff(Data("processes: []".utf8)) == .yaml)
        let fromJSON = try ConfigLoader.parse(data: Data(Fixtures.fullJSON.utf8), format: nil, baseDirectory: "/x")
        let fromYAML = try ConfigLoader.parse(data: Data(Fixtures.fullYAML.utf8), format: nil, baseDirectory: "/x")
        #expect(fromJSON == fromYAML)
    }

    @Test("a YAML flow mapping sniffed as JSON still loads as YAML")
    func flowMappingFallback() throws {
        let config = try ConfigLoader.parse(data: Data("{processes: [{id: p, command: [run]}]}".utf8), format: nil)
        #expect(config.processes.map(\.id) == ["p"])
    }

    @Test("JSON has no YAML typing: quoted values are strings, literals keep their type")
    func jsonTyping() throws {
        let node = try ConfigLoader.parseNodes(data: Data(#"{"a": "yes", "b": 1, "c": 1.5, "d": true, "e": null, "f": "\u00e9\n"}"#.utf8), format: .json)
        #expect(node["a"]?.value == .string("yes"))
        #expect(node["b"]?.value == .integer(1))
        #expect(node["c"]?.value == .float(1.5))
        #expect(node["d"]?.value == .bool(true))
        #expect(node["e"]?.value == .null)
        #expect(node["f"]?.value == .string("é\n"))
    }

    @Test("YAML 1.1 typing of plain scalars, quoted scalars stay strings")
    func yamlTyping() throws {
        let node = try ConfigLoader.parseNodes(data: Data("a: yes\nb: 0x1F\nc: '8080'\nd: ~\ne: 1.5\nf: on-failure".utf8), format: .yaml)
        #expect(node["a"]?.value == .bool(true))
        #expect(node["b"]?.value == .integer(31))
        #expect(node["c"]?.value == .string("8080"))
        #expect(node["d"]?.value == .null)
        #expect(node["e"]?.value == .float(1.5))
        #expect(node["f"]?.value == .string("on-failure"))
    }

    @Test("JSON escapes and surrogate pairs decode")
    func jsonEscapes() throws {
        let node = try ConfigLoader.parseNodes(data: Data(#"["\ud83d\ude00", "a\/b", "\t"]"#.utf8), format: .json)
        #expect(node.elements?.map(\.stringValue) == ["😀", "a/b", "\t"])
    }

    @Test("deeply nested input is refused, not a crash")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parseNodes(data: Data(deep.utf8), format: .json) }
        #expect(error.code == .limit)
        #expect(error.lines == [String(repeating: "[0]", count: 64) + ": nested deeper than 64 levels (at line 1, column 65)"])
    }

    @Test("a YAML alias bomb is refused")
    func aliasBomb() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parseNodes(data: Data(yaml.utf8), format: .yaml) }
        #expect(error.code == .limit)
        #expect(error.problems.count == 1)
        #expect(error.lines[0] == "a5[0]: document has more than 200000 nodes (keys and values, after expanding aliases) (at line 6, column 10)")
    }

    @Test("invalid UTF-8 is unreadable")
    func invalidUTF8() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse(data: Data([0x61, 0x3A, 0x20, 0xFF, 0xFE]), format: .yaml)
        }
        #expect(error.code == .unreadable)
        #expect(error.lines == ["is not valid UTF-8 text"])
    }

    @Test("a UTF-8 byte order mark is ignored")
    func byteOrderMark() throws {
        let config = try ConfigLoader.parse(data: Data([0xEF, 0xBB, 0xBF] + Array("{\"processes\": []}".utf8)), format: .json)
        #expect(config.processes.isEmpty)
    }
}
