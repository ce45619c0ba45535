import Glibc

/// How the agent refers to a process it may signal: the leader of a group it stops.
///
/// Why two kinds: a pidfd costs a descriptor for as long as the process lives, and with 10,000
/// children the agent's descriptors are its scarcest resource. For its *own* children it needs
/// none: a child's pid cannot be reused until the agent reaps it, and the ``ExitWatcher`` reaps
/// under the same lock ``sendSignal(_:)`` signals under, so a signal can never reach a recycled
/// pid. A process that is *not* its child (one adopted from a previous agent's state file) has
/// no such guarantee: it keeps its pidfd.
public enum ProcessReference: Sendable {
    /// A process known by its pidfd (adopted, or a child of a watcher that does not reap by sweep).
    case pidfd(PIDFD)
    /// The agent's own child, reaped by `watcher`'s sweep.
    case child(pid: Int32, watcher: ExitWatcher)

    /// The pid it refers to.
    public var pid: Int32 {
        switch self {
        case .pidfd(let pidfd): pidfd.pid
        case .child(let pid, _): pid
        }
    }

    /// Sends `signal`. Returns 0, or the errno (ESRCH once the process is gone).
    @discardableResult
    public func sendSignal(_ signal: Int32) -> Int32 {
        switch self {
        case .pidfd(let pidfd): pidfd.sendSignal(signal)
        case .child(let pid, let watcher): watcher.signalChild(pid: pid, signal: signal)
        }
    }

    /// True once the process has terminated (for a child: once it was reaped).
    public var hasExited: Bool {
        switch self {
        case .pidfd(let pidfd): pidfd.hasExited
        case .child(let pid, let watcher): !watcher.isTrackedChild(pid)
        }
    }

    /// The pidfd, if this reference holds one.
    public var pidfd: PIDFD? {
        if case .pidfd(let pidfd) = self { return pidfd }
        return nil
    }
}
