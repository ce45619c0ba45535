import Testing
@testable import ProcmgrConfig

@Suite("Substitution")
struct SubstitutionTests {
    @Test("${PORT} is replaced in every argument")
    func replacesPort() {
        let spec = ProcessSpec(id: "a", command: ["bin/s", "-port", "${PORT}", "--addr=127.0.0.1:${PORT}", "${PORT}${PORT}"], port: .auto)
        #expect(spec.resolvedCommand(port: 31001) == ["bin/s", "-port", "31001", "--addr=127.0.0.1:31001", "3100131001"])
    }

    @Test("$${ escapes to a literal ${, other dollars stay as they are")
    func escaping() {
        let spec = ProcessSpec(id: "a", command: ["sh", "-c", "echo $${PORT} $HOME $$ ${PORT} $", "cost: $5"], port: .fixed(80))
        #expect(spec.resolvedCommand(port: 80) == ["sh", "-c", "echo ${PORT} $HOME $$ 80 $", "cost: $5"])
    }

    @Test("without a port ${PORT} becomes empty")
    func noPort() {
        let spec = ProcessSpec(id: "a", command: ["x", "p=${PORT}"])
        #expect(spec.resolvedCommand(port: nil) == ["x", "p="])
    }

    @Test("escaped references pass validation even without a port")
    func escapedNeedsNoPort() throws {
        let spec = try Support.load("processes:\n  - id: p\n    command: [sh, -c, \"echo $${PORT}\"]").processes[0]
        #expect(spec.resolvedCommand(port: nil) == ["sh", "-c", "echo ${PORT}"])
    }

    @Test("env overlays the base environment and PORT is set when assigned")
    func environment() {
        let spec = ProcessSpec(id: "a", command: ["x"], env: ["LOG_LEVEL": "info", "PATH": "/opt/bin", "PORT": "1"], port: .auto)
        let base = ["PATH": "/usr/bin", "HOME": "/root"]
        #expect(spec.resolvedEnvironment(base: base, port: 30005) ==
            ["PATH": "/opt/bin", "HOME": "/root", "LOG_LEVEL": "info", "PORT": "30005"])
        #expect(spec.resolvedEnvironment(base: base, port: nil) ==
            ["PATH": "/opt/bin", "HOME": "/root", "LOG_LEVEL": "info", "PORT": "1"])
    }

    @Test("env values are taken literally")
    func literalEnv() {
        let spec = ProcessSpec(id: "a", command: ["x"], env: ["URL": "http://localhost:${PORT}"], port: .auto)
        #expect(spec.resolvedEnvironment(base: [:], port: 5)["URL"] == "http://localhost:${PORT}")
    }

    @Test("template parsing")
    func templateParsing() throws {
        #expect(try ArgumentTemplate.parse("a${PORT}b").get() == [.literal("a"), .variable("PORT"), .literal("b")])
        #expect(try ArgumentTemplate.parse("$${X}").get() == [.literal("${X}")])
        #expect(ArgumentTemplate.parse("${").failureValue == .unterminated)
        #expect(ArgumentTemplate.parse("${}").failureValue == .emptyName)
    }
}

private extension Result {
    var failureValue: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
