import Glibc
import ProcmgrEngine

/// The commands a process runs around its program (`hooks:`): `pre_start` before every start,
/// `post_stop` after every stop, once the program's group is empty.
public struct HookSettings: Sendable, Hashable {
    /// argv of the command run before every start; `nil`: none.
    public var preStart: [String]?
    /// argv of the command run after every stop; `nil`: none.
    public var postStop: [String]?
    /// How long either may run before it is killed (a `pre_start` that is killed fails the start).
    public var timeout: Duration

    public init(preStart: [String]? = nil, postStop: [String]? = nil, timeout: Duration = .seconds(30)) {
        self.preStart = preStart
        self.postStop = postStop
        self.timeout = timeout
    }
}

/// Which hook ran: the `hook` label of the agent's log lines and of the errors it reports.
public enum HookPhase: String, Sendable, Hashable, CaseIterable {
    case preStart = "pre_start"
    case postStop = "post_stop"
}

/// How a hook ended.
enum HookOutcome: Sendable, Hashable {
    case succeeded
    case failed(ProcessExitStatus)
    case timedOut(Duration)
    case cannotStart(String)

    var succeeded: Bool { self == .succeeded }
}

/// A hook that did not succeed, as the start error the engine shows and backs off on.
public struct HookError: Error, Sendable, Hashable, CustomStringConvertible {
    public var phase: HookPhase
    public var command: String
    public var detail: String

    public var description: String { "hooks.\(phase.rawValue) \(command): \(detail)" }

    init(phase: HookPhase, command: [String], outcome: HookOutcome) {
        self.phase = phase
        self.command = command.joined(separator: " ")
        switch outcome {
        case .succeeded: detail = "succeeded"
        case .failed(let status): detail = "\(status)"
        case .timedOut(let timeout): detail = "did not finish within \(timeout) and was killed"
        case .cannotStart(let reason): detail = "cannot be started: \(reason)"
        }
    }
}

/// Runs one hook command in the program's own context (environment, directory, user, limits,
/// cgroup — the caller builds the ``SpawnSpec`` like the program's and spawns it), its output into the
/// process's log ring, bounded by the hook's timeout.
///
/// At the timeout the hook's whole group (and, with a cgroup, every member) is SIGKILLed
/// through the stopper, so a hook that forks a daemon cannot leave it behind; the stopper also
/// removes what is left of the group after a hook that exited. The runtime's exit watcher reaps
/// it, as every child.
struct HookRunner: Sendable {
    let stopper: GroupStopper
    let capture: OutputCapture

    /// - Parameter spawn: starts the command (the runtime's spawn into the process's cgroup).
    func run(
        _ spec: SpawnSpec, name: String, timeout: Duration, cgroup: ProcessCgroup?, onLine: @escaping @Sendable (CapturedLine) -> Void,
        spawn: (SpawnSpec) async throws -> SpawnedProcess
    ) async -> HookOutcome {
        var spec = spec
        spec.captureOutput = true
        spec.outputFDs = nil
        let spawned: SpawnedProcess
        do {
            spawned = try await spawn(spec)
        } catch {
            return .cannotStart("\(error)")
        }
        let output: OutputCaptureHandle?
        do {
            output = try capture.attach(name: name, stdout: spawned.stdoutFD, stderr: spawned.stderrFD, onLine: onLine)
        } catch {
            // Nobody reads its output: a hook that runs on would block on its next write.
            _ = await stopper.stop(spawned.handle, signal: SIGKILL, grace: .zero, cgroup: cgroup)
            return .cannotStart("cannot capture its output: \(error)")
        }
        let status = await spawned.exit.wait(timeout: timeout)
        if status == nil || GroupStopper.groupExists(spawned.pgid) || cgroup?.isEmpty == false {
            _ = await stopper.stop(spawned.handle, signal: SIGKILL, grace: .zero, cgroup: cgroup)
        }
        if let output {
            _ = await output.waitUntilFinished(timeout: .milliseconds(100))
            output.detach()
        }
        guard let status else { return .timedOut(timeout) }
        return status.isSuccess ? .succeeded : .failed(status)
    }
}
