import Glibc

/// How a process ended.
public enum ProcessExitStatus: Sendable, Hashable, CustomStringConvertible {
    /// Returned from `main` or called `exit` with this code.
    case exited(code: Int32)
    /// Terminated by a signal.
    case signaled(signal: Int32, coreDumped: Bool)
    /// The process is gone but its status could not be collected: it was not our child (an
    /// adopted process after an agent restart) or something else reaped it.
    case unknown

    /// Builds a status from `siginfo_t.si_code` / `si_status` as returned by `waitid`.
    init(siCode: Int32, siStatus: Int32) {
        switch siCode {
        case Int32(CLD_EXITED): self = .exited(code: siStatus)
        case Int32(CLD_KILLED): self = .signaled(signal: siStatus, coreDumped: false)
        case Int32(CLD_DUMPED): self = .signaled(signal: siStatus, coreDumped: true)
        default: self = .unknown
        }
    }

    /// True for `exited(code: 0)`.
    public var isSuccess: Bool { self == .exited(code: 0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal, let core): "killed by \(ProcessSignal.name(signal))\(core ? " (core dumped)" : "")"
        case .unknown: "exited (status unknown: not our child)"
        }
    }
}

/// A future exit status, fulfilled by ``ExitWatcher`` when the process is reaped.
public typealias ExitFuture = OneShot<ProcessExitStatus>
