import Glibc
import Logging
import ProcmgrEngine
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// A real child's output through ``ProcessRuntime``: what reaches the agent's own log, the logs
/// API and the `log_file`, and what happens when the file cannot be opened.
@Suite("Process runtime: child output", .timeLimit(.minutes(2)))
struct RuntimeOutputTests {
    @Test("the agent's log gets escaped lines, at most the burst of a flood, and a count of the rest; the logs API keeps all")
    func agentLogIsEscapedAndThrottled() async throws {
        let (logger, records) = RecordingLogHandler.logger()
        try await RuntimeHarness.with(logger: logger) { h in
            var config = managed(["sh", "-c", #"printf 'a\033[31mred\033[0m\rb\n'; i=1; while [ $i -le 1000 ]; do echo "line $i"; i=$((i+1)); done; exec sleep 60"#])
            config.output.recentLines = 2_000
            h.manager.update("chatty", config: config, type: .create)
            try await eventually("every line in the logs API") { h.output(of: "chatty").count == 1_001 }
            #expect(h.output(of: "chatty").first == "a\u{1b}[31mred\u{1b}[0m\rb", "the logs API keeps the raw line")

            let suppressed = #"procmgr_child_output_suppressed_lines_total{process="chatty"}"#
            func childLines() -> [RecordingLogHandler.Record] {
                records.all.filter { $0.metadata["process"] == "chatty" && $0.metadata["stream"] != nil }
            }
            try await eventually("every line logged or counted") { childLines().count + Int(h.sample(suppressed) ?? 0) == 1_001 }
            let logged = childLines()
            #expect(logged.first?.message == "a\\x1b[31mred\\x1b[0m\\x0db")
            #expect(logged.count >= 100 && logged.count < 300, "the burst of 100, and what 50/s refilled meanwhile: \(logged.count)")
            #expect(records.all.allSatisfy { record in !record.message.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) } })

            h.manager.terminate("chatty")
            try await h.waitFor("chatty", .finished)
            #expect(h.sample(suppressed) == nil, "the series goes with the process")
            let noted = records.all.filter { $0.metadata["process"] == "chatty" && $0.message.hasPrefix("output rate limit: suppressed ") }
            let total = noted.compactMap { Int($0.message.dropFirst("output rate limit: suppressed ".count).prefix { $0.isNumber }) }.reduce(0, +)
            #expect(total == 1_001 - logged.count, "the held-back lines are noted, at the latest when the program stops")
        }
    }

    @Test("agent.log_child_output: false keeps children's lines out of the agent's log, not out of the logs API")
    func childOutputNotLogged() async throws {
        let (logger, records) = RecordingLogHandler.logger()
        try await RuntimeHarness.with(logger: logger, childOutputLogging: ChildOutputLogging(enabled: false)) { h in
            h.manager.update("quiet", config: managed(["sh", "-c", "echo one; echo two; exec sleep 60"]), type: .create)
            try await eventually("both lines in the logs API") { h.output(of: "quiet") == ["one", "two"] }
            #expect(!records.all.contains { $0.metadata["stream"] != nil })
            #expect(records.all.contains { $0.message == "started" && $0.metadata["process"] == "quiet" }, "the agent's own lines still are")
        }
    }

    @Test("a log_file that cannot be opened is a start error the API and metrics show; the output is captured once it can")
    func logFileInMissingDirectory() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with { h in
            // More than a pipe holds: a child nobody drained would block before "done".
            var config = managed(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x | fold -w 100; echo done; exec sleep 60"])
            config.output.file = OutputCapture.FileOutput(path: directory + "/logs/out.log")
            h.manager.update("filelog", config: config, type: .create)
            try await eventually("the engine shows the start error") {
                h.manager.status(of: "filelog")?.lastError?.contains(directory + "/logs/out.log") == true
            }
            let status = try #require(h.manager.status(of: "filelog"))
            #expect(!status.healthy && status.consecutiveFailures >= 1)
            #expect((h.sample(#"procmgr_errors_total{process="filelog",phase="spawn"}"#) ?? 0) >= 1)
            #expect(h.runtime.snapshot(of: "filelog")?.pid == nil, "nothing runs without its output file")

            #expect(mkdir(directory + "/logs", 0o755) == 0)
            try await eventually("the program runs once the directory exists") { h.runtime.snapshot(of: "filelog")?.pid != nil }
            try await eventually("its whole output reached the file", timeout: .seconds(20)) {
                readFile(directory + "/logs/out.log").hasSuffix("done\n")
            }
        }
    }
}

/// A whole small file as text ("" if it cannot be read).
func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
