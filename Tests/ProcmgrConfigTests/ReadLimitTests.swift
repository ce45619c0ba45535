import Foundation
import Testing
@testable import ProcmgrConfig

/// Documents built to exhaust the stack or memory of a reader. Before the limits were enforced
/// while parsing, each deep one here killed the test process (and the agent) with a segfault in
/// Yams' recursive composer; now each is one `ConfigProblem` with the path and line of the
/// offending value.
@Suite("Read limits")
struct ReadLimitTests {
    /// The only problem of a document that must be refused for a limit.
    private func limitProblem(_ text: String, format: ConfigFormat?) throws -> ConfigProblem {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parseNodes(data: Data(text.utf8), format: format)
        }
        #expect(error.code == .limit)
        #expect(error.problems.count == 1)
        return try #require(error.problems.first)
    }

    @Test("20,000 nested YAML flow sequences are refused at the 65th level")
    func deepYAMLFlow() throws {
        let text = String(repeating: "[", count: 20_000)
        let problem = try limitProblem(text, format: .yaml)
        #expect(problem.description == String(repeating: "[0]", count: 64) + ": nested deeper than 64 levels (at line 1, column 65)")
        #expect(problem.location == SourceLocation(line: 1, column: 65))
    }

    @Test("2,000 nested YAML block mappings are refused with the path of the 65th")
    func deepYAMLBlock() throws {
        let text = (0..<2_000).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " x\n"
        let problem = try limitProblem(text, format: .yaml)
        let path = Array(repeating: "a", count: 64).joined(separator: ".")
        #expect(problem.description == "\(path): nested deeper than 64 levels (at line 65, column 65)")
    }

    @Test("nested YAML flow mappings inside a real config are refused with their path")
    func deepYAMLInsideConfig() throws {
        let deep = String(repeating: "{a: ", count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        let text = "processes:\n  - id: p\n    command: [run]\n    env: \(deep)\n"
        let error = try #require(throws: ConfigError.self) { try Support.load(text) }
        #expect(error.code == .limit)
        #expect(error.lines.count == 1)
        #expect(error.lines[0].hasPrefix("processes[0].env.a.a."))
        #expect(error.lines[0].hasSuffix(": nested deeper than 64 levels (at line 4, column \(10 + 4 * 61))"))
    }

    @Test("20,000 nested JSON arrays and objects are refused, by both readers")
    func deepJSON() throws {
        let arrays = String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
        let problem = try limitProblem(arrays, format: .json)
        #expect(problem.description.hasSuffix("[0]: nested deeper than 64 levels (at line 1, column 65)"))

        let objects = String(repeating: #"{"k":"#, count: 20_000) + "1" + String(repeating: "}", count: 20_000)
        let objectProblem = try limitProblem(objects, format: .json)
        #expect(objectProblem.description.hasPrefix("k.k.k."))
        // An unknown extension sniffs as JSON; the limit must not send it on to the YAML reader.
        let sniffed = try limitProblem(arrays, format: nil)
        #expect(sniffed == problem)
        // A YAML file that happens to look like JSON is also refused by the YAML pass.
        let yamlProblem = try limitProblem(arrays, format: .yaml)
        #expect(yamlProblem.message == "nested deeper than 64 levels (at line 1, column 65)")
    }

    @Test("64 levels are read by both readers; the limits agree on the boundary")
    func boundary() throws {
        for format in [ConfigFormat.yaml, .json] {
            let fits = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
            let node = try ConfigLoader.parseNodes(data: Data(fits.utf8), format: format)
            var depth = 0
            var cursor = node
            while let first = cursor.elements?.first ?? nil {
                depth += 1
                cursor = first
            }
            #expect(depth == 63, "format \(format)")
            let over = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
            #expect(try limitProblem(over, format: format).location == SourceLocation(line: 1, column: 65))
        }
    }

    @Test("a YAML alias bomb (billion laughs) is refused before it is expanded")
    func aliasBomb() throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 {
            let aliases = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            lines.append("a\(level): &a\(level) [\(aliases)]")
        }
        let text = lines.joined(separator: "\n") + "\n"
        let start = ContinuousClock.now
        let found = try limitProblem(text, format: .yaml)
        let elapsed = ContinuousClock.now - start
        #expect(found.message.hasPrefix("document has more than 200000 nodes (keys and values, after expanding aliases)"))
        // Refused while counting: a4 would already be ~100,000 expanded nodes, a5 a million.
        #expect(found.path.description.hasPrefix("a5["))
        // 10^10 nodes would take hours to build; the refusal must not even start.
        #expect(elapsed < .seconds(2))
    }

    @Test("an alias to a deep anchor counts its depth where it is used")
    func aliasDepth() throws {
        let anchor = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let user = String(repeating: "[", count: 30) + "*d" + String(repeating: "]", count: 30)
        let text = "d: &d \(anchor)\nuse: \(user)\n"
        let problem = try limitProblem(text, format: .yaml)
        #expect(problem.message == "nested deeper than 64 levels after expanding an alias (at line 2, column 36)")
        #expect(problem.path.description == "use" + String(repeating: "[0]", count: 30))
    }

    @Test("more than 200,000 plain values are refused in both formats")
    func nodeCount() throws {
        let yaml = "[" + Array(repeating: "0", count: 200_001).joined(separator: ",") + "]"
        #expect(try limitProblem(yaml, format: .yaml).message.hasPrefix("document has more than 200000 nodes"))
        #expect(try limitProblem(yaml, format: .json).message.hasPrefix("document has more than 200000 values"))
    }

    @Test("a document over 4 MiB is refused before it is parsed, from any source")
    func documentSize() throws {
        let big = Data(repeating: UInt8(ascii: " "), count: 4 << 20 + 1)
        let problem = try limitProblem(String(decoding: big, as: UTF8.self), format: .yaml)
        #expect(problem.description == "the document is 4194305 bytes, over the limit of 4 MiB")
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.mergeAdmin(response: big, into: AgentConfig())
        }
        #expect(error.code == .limit)
        #expect(error.lines == ["admin: the document is 4194305 bytes, over the limit of 4 MiB"])
    }

    @Test("an admin-service body nested 20,000 deep is one problem, at its admin: path")
    func deepAdminBody() throws {
        let config = try Support.load("agent:\n  admin: { url: \"http://127.0.0.1:1/i\" }\n")
        let body = #"{"processes": ["# + String(repeating: "[", count: 20_000)
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.mergeAdmin(response: Data(body.utf8), into: config)
        }
        #expect(error.code == .limit)
        #expect(error.lines.count == 1)
        #expect(error.lines[0].hasPrefix("admin:processes[0][0]"))
        #expect(error.lines[0].hasSuffix(": nested deeper than 64 levels (at line 1, column 78)"))
    }

    @Test("YAML 1.1 base-60 integers that overflow are numbers, not a trap in Yams")
    func sexagesimalOverflow() throws {
        let huge = "1" + String(repeating: ":0", count: 12)
        let node = try ConfigLoader.parseNodes(data: Data("a: \(huge)\nb: 1:30\nc: -2:00\n".utf8), format: .yaml)
        guard case .float(let value)? = node["a"]?.value else {
            Issue.record("expected a float for \(huge), got \(String(describing: node["a"]?.value))")
            return
        }
        #expect(value == pow(60, 12))
        #expect(node["b"]?.value == .integer(90))
        #expect(node["c"]?.value == .integer(-120))
        let problems = Support.problems(Support.process("port: \(huge)"))
        #expect(problems == ["processes[0].port: \(huge) is not auto, none or a port number (1-65535)"])
    }
}
