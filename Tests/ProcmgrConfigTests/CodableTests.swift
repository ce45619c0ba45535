import Foundation
import Testing
@testable import ProcmgrConfig

@Suite("Codable in the config schema")
struct CodableTests {
    @Test("a spec encodes to the schema and decodes back equal")
    func roundTrip() throws {
        let config = try Support.load(Fixtures.fullYAML, base: "/srv")
        for spec in config.processes {
            let data = try JSONEncoder().encode(spec)
            #expect(try JSONDecoder().decode(ProcessSpec.self, from: data) == spec)
        }
    }

    @Test("encoding makes defaults explicit and uses the schema's spellings")
    func encodedForm() throws {
        let spec = ProcessSpec(id: "a", command: ["x"], env: ["B": "2", "A": "1"], port: .fixed(80),
                               backoff: BackoffSpec(max: .seconds(90)), logFile: LogFileSpec(path: "/l"))
        let node = spec.configNode
        #expect(node["grace_period"]?.stringValue == "10s")
        #expect(node["backoff"]?["max"]?.stringValue == "1m30s")
        #expect(node["port"]?.value == .integer(80))
        #expect(node["stop_signal"]?.stringValue == "TERM")
        #expect(node["restart"]?.stringValue == "always")
        #expect(node["log_file"]?["max_bytes"]?.stringValue == "10MiB")
        #expect(node["env"]?.entries?.map(\.key) == ["A", "B"])
    }

    @Test("the encoded JSON is a valid config document")
    func encodedIsLoadable() throws {
        let config = try Support.load(Fixtures.fullYAML, base: "/srv")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(config)
        let reloaded = try ConfigLoader.parse(data: data, format: .json)
        #expect(reloaded.agent == config.agent)
        #expect(reloaded.processes == config.processes)
    }

    @Test("decoding reports every problem, as the loader does")
    func decodingProblems() throws {
        let json = #"{"id": "a b", "command": [], "restart": "sometimes"}"#
        do {
            _ = try JSONDecoder().decode(ProcessSpec.self, from: Data(json.utf8))
            Issue.record("expected a decoding error")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription == """
            id: "a b" is not a valid id ([A-Za-z0-9._-]{1,63})
            command: must be a non-empty array of strings
            restart: "sometimes" is not one of always, on-failure, never
            """)
        }
    }

    @Test("config nodes round-trip through JSON")
    func nodeRoundTrip() throws {
        let node = try ConfigLoader.parseNodes(data: Data(#"{"a": [1, 2.5, true, null, "s"], "b": {"c": {}}}"#.utf8), format: .json)
        let decoded = try JSONDecoder().decode(ConfigNode.self, from: JSONEncoder().encode(node))
        #expect(decoded == node)
    }
}
