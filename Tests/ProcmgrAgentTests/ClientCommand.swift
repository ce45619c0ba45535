import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit

/// One `procmgr <client command>` run as a child through the test runtime's spawner (not
/// Foundation's `Process`: the test process's exit watcher reaps every child), its stdout and
/// stderr captured apart.
final class ClientCommand: Sendable {
    struct Outcome: CustomStringConvertible {
        var status: ProcessExitStatus
        var stdout: [String]
        var stderr: [String]
        var description: String { "\(status); stdout: \(stdout); stderr: \(stderr)" }
    }

    let process: SpawnedProcess
    let arguments: [String]
    private let out = LockedLines()
    private let err = LockedLines()
    private let capture: OutputCaptureHandle

    var stdout: [String] { out.all }
    var stderr: [String] { err.all }

    /// Starts `procmgr ARGUMENTS`.
    init(_ arguments: [String], environment extra: [String: String] = [:]) async throws {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        let runtime = AgentTestRuntime.shared
        self.arguments = arguments
        process = try await runtime.spawner.spawn(SpawnSpec(
            arguments: [try procmgrPath()] + arguments, environment: environment, captureOutput: true, killWithParent: true))
        let out = out, err = err
        capture = try runtime.capture.attach(name: "procmgr-client", stdout: process.stdoutFD, stderr: process.stderrFD) { line in
            if line.stream == .stderr { err.append(line.text) } else { out.append(line.text) }
        }
    }

    /// Runs `procmgr ARGUMENTS` to its end (at most `timeout`, then it fails loudly).
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> Outcome {
        let command = try await ClientCommand(arguments, environment: environment)
        return try await command.finish(timeout: timeout)
    }

    /// Waits for the end and the last output line.
    func finish(timeout: Duration = .seconds(60)) async throws -> Outcome {
        guard let status = await process.exit.wait(timeout: timeout) else {
            Glibc.kill(process.pid, SIGKILL)
            throw AgentTestFailure("procmgr \(arguments) still running after \(timeout); stdout: \(stdout.suffix(10)), stderr: \(stderr.suffix(10))")
        }
        guard await capture.waitUntilFinished(timeout: .seconds(10)) else { throw AgentTestFailure("the output of procmgr \(arguments) never ended") }
        return Outcome(status: status, stdout: stdout, stderr: stderr)
    }

    /// SIGKILLs a command that still runs (cleanup of a following command).
    func kill() async {
        if process.exit.value == nil {
            Glibc.kill(process.pid, SIGKILL)
            _ = await process.exit.wait(timeout: .seconds(10))
        }
    }
}
