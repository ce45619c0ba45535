import Glibc
import Logging
import ProcmgrEngine

/// An exec probe: argv spawned through the runtime's spawn thread, in its own process group,
/// with stdin and output on `/dev/null`; exit status 0 within the timeout passes.
///
/// At the timeout the whole group is SIGKILLed through the stopper (a shell's grandchildren
/// too), and so is what is left of the group after the command exited. The runtime's
/// ``ExitWatcher`` reaps the command, so no probe ever leaves a zombie. A command that cannot be
/// spawned (not found, not executable) is a failure, logged, never a crash.
struct ExecProbe: Sendable {
    let spawner: SpawnThread
    let stopper: GroupStopper
    /// Opened once (write-only, close-on-exec) for every command's stdout and stderr.
    let devNull: Int32
    let logger: Logger

    func check(_ command: [String], process: ProcessID, environment: [String: String], workingDirectory: String?, timeout: Duration) async -> ProbeResult {
        let spec = SpawnSpec(
            arguments: command, environment: environment, workingDirectory: workingDirectory, captureOutput: false,
            killWithParent: true, outputFDs: OutputFDs(stdout: devNull, stderr: devNull))
        let spawned: SpawnedProcess
        do {
            spawned = try await spawner.spawn(spec)
        } catch {
            logger.error("exec probe cannot be started", metadata: ["process": "\(process)", "error": "\(error)"])
            return .failure
        }
        guard let status = await spawned.exit.wait(timeout: timeout) else {
            _ = await stopper.stop(spawned.handle, signal: SIGKILL, grace: .zero)
            return .timeout
        }
        if GroupStopper.groupExists(spawned.pgid) {
            _ = await stopper.stopGroup(pgid: spawned.pgid, leader: nil, leaderExit: nil, signal: SIGKILL, grace: .zero)
        }
        return status.isSuccess ? .success : .failure
    }
}
