import CProcmgrShims
import Glibc

/// An owned pidfd: a descriptor that refers to one process for as long as it is open.
///
/// Why: signalling by pid is racy once the process has been reaped (the pid may already
/// belong to someone else). A pidfd never refers to a different process, and it becomes
/// readable when the process exits, which is how exits are noticed without polling.
/// The descriptor is closed when the last reference goes away.
public final class PIDFD: Sendable {
    /// The descriptor (CLOEXEC).
    public let rawValue: Int32
    /// The pid it was opened for.
    public let pid: Int32

    /// Takes ownership of an open pidfd.
    public init(adopting rawValue: Int32, pid: Int32) {
        self.rawValue = rawValue
        self.pid = pid
    }

    /// `pidfd_open(pid)`. Fails with ESRCH when no such process exists.
    public static func open(pid: Int32) throws(SystemError) -> PIDFD {
        let fd = procmgr_pidfd_open(pid, 0)
        guard fd >= 0 else { throw .current("pidfd_open(\(pid))") }
        return PIDFD(adopting: fd, pid: pid)
    }

    /// `pidfd_send_signal`. Returns 0, or the errno (ESRCH once the process has exited).
    @discardableResult
    public func sendSignal(_ signal: Int32) -> Int32 {
        procmgr_pidfd_send_signal(rawValue, signal) == 0 ? 0 : errno
    }

    /// True once the process has terminated (the pidfd is readable). Does not reap.
    public var hasExited: Bool {
        var descriptor = pollfd(fd: rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 1
    }

    deinit { close(rawValue) }
}
