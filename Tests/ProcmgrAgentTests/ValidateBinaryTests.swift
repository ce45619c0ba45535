import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The real `procmgr validate` on documents that used to kill it with SIGSEGV: it must exit
/// with status 2 and the problem, never by a signal. Run as a child process because a crash
/// here would otherwise take the whole test run with it; spawned and reaped by the runtime (the
/// test process has an exit watcher that reaps every child, so Foundation's `Process` would
/// read a status it never collected).
@Suite("procmgr validate, the binary")
struct ValidateBinaryTests {
    /// Runs `procmgr validate --config <path>`; fails loudly after 60 s.
    private func validate(_ path: String) async throws -> (status: ProcessExitStatus, output: String) {
        let runtime = AgentTestRuntime.shared
        let process = try await runtime.spawner.spawn(SpawnSpec(
            arguments: [try procmgrPath(), "validate", "--config", path],
            environment: ProcessInfo.processInfo.environment, captureOutput: true, killWithParent: true))
        let lines = LockedLines()
        let capture = try runtime.capture.attach(name: "validate", stdout: process.stdoutFD, stderr: process.stderrFD) {
            lines.append($0.text)
        }
        guard let status = await process.exit.wait(timeout: .seconds(60)) else {
            Glibc.kill(process.pid, SIGKILL)
            throw AgentTestFailure("procmgr validate \(path) still running after 60 s")
        }
        guard await capture.waitUntilFinished(timeout: .seconds(10)) else { throw AgentTestFailure("output of procmgr validate never ended") }
        return (status, lines.all.joined(separator: "\n") + "\n")
    }

    @Test("20,000 nested [ in YAML: exit 2 with the problem, not a segfault")
    func deepFlowYAML() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/deep.yaml"
        try (String(repeating: "[", count: 20_000) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let outcome = try await validate(path)
        #expect(outcome.status == .exited(code: 2), "\(outcome.status): \(outcome.output)")
        #expect(outcome.output.contains("\(path): invalid, 1 problem\n"))
        #expect(outcome.output.contains(": nested deeper than 64 levels (at line 1, column 65)\n"))
    }

    @Test("2,000 nested YAML mappings: exit 2 with the problem, not a segfault")
    func deepBlockYAML() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/deep.yaml"
        let text = (0..<2_000).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " x\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let outcome = try await validate(path)
        #expect(outcome.status == .exited(code: 2), "\(outcome.status): \(outcome.output)")
        #expect(outcome.output.contains(": nested deeper than 64 levels (at line 65, column 65)\n"))
    }

    @Test("a FIFO as the config: exit 2 at once, naming it")
    func fifo() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/procmgr.yaml"
        try #require(mkfifo(path, 0o600) == 0)
        let outcome = try await validate(path)
        #expect(outcome.status == .exited(code: 2), "\(outcome.status): \(outcome.output)")
        #expect(outcome.output.contains("\(path): is a FIFO (named pipe), not a regular file\n"))
    }
}
