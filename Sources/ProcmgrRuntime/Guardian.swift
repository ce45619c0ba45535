import CProcmgrShims
import Glibc
public import Logging
import ProcmgrSupport
import Synchronization

/// A tiny separate process that SIGKILLs every registered process group when the agent dies,
/// however it dies (including SIGKILL and OOM kills, where no code of the agent runs).
///
/// Why: `PR_SET_PDEATHSIG` only covers the agent's *direct* children; their own children
/// (`sh -c 'server & …'`) would be re-parented to init and live on. The guardian is forked once
/// at startup, keeps only its end of a `SOCK_SEQPACKET` socketpair, leaves the agent's session
/// (`setsid`) so group signals aimed at children never hit it, and blocks in `read()`. The
/// agent holds the other end: when the agent's process ends, the kernel closes it, the guardian
/// reads EOF and kills every registered group. It runs only async-signal-safe C code (it was
/// forked from a multi-threaded process) and keeps the registry in an mmap'ed bitmap.
///
/// Noticing a dead guardian: a send fails with EPIPE once no process holds the guardian's end.
/// A child being spawned at the instant the guardian is forked holds a copy of that end until
/// its exec (milliseconds), so start the guardian before spawning children.
///
/// Limits: a descendant that moved to another process group or session (a daemonizing
/// grandchild) is not reached; use cgroups for that. A child that spawns grandchildren in the
/// microseconds between clone and ``register(pgid:)`` and then loses the agent is covered only
/// by PDEATHSIG.
public final class Guardian: Sendable {
    public enum GuardianError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The guardian process is gone (killed, crashed); groups are unprotected.
        case guardianGone(errno: Int32)
        /// ``disarm()`` was called.
        case disarmed

        public var description: String {
            switch self {
            case .guardianGone(let code): "the guardian process is gone (\(ErrnoName.describe(code))); children would survive a crash of the agent"
            case .disarmed: "the guardian was disarmed"
            }
        }
    }

    private struct State {
        var socket: Int32?
        var registered: Set<Int32> = []
    }

    /// The guardian's pid.
    public let pid: Int32
    /// Fulfilled when the guardian process exits (when started with a watcher).
    public let exit: ExitFuture?
    private let state: Mutex<State>
    private let logger: Logger

    private init(pid: Int32, socket: Int32, exit: ExitFuture?, logger: Logger) {
        self.pid = pid
        self.exit = exit
        self.state = Mutex(State(socket: socket))
        self.logger = logger
    }

    /// A guardian forked by ``prefork()`` and not yet taken by ``start(watcher:logger:)``.
    private struct Preforked {
        var socket: Int32
        var pid: Int32
        var pidfd: PIDFD?
    }

    private static let preforked = LockedState<Preforked?>(nil)

    /// Forks the guardian now, for a later ``start(watcher:logger:)`` to take over.
    ///
    /// Why: a forked process shares the agent's pages copy-on-write, and every page the agent
    /// writes after the fork is copied — the guardian's copy of it then counts against the
    /// agent's memory alone. Forked after the config is parsed and the servers run, the guardian
    /// held ~5.5 MiB of such copies with 1,000 children; forked first thing in `main`, when the
    /// heap is nearly empty, it holds far less. Call it before any other thread exists if you
    /// can. Does nothing if a preforked guardian is already waiting.
    public static func prefork() throws(SystemError) {
        try preforked.withLock { (slot: inout Preforked?) throws(SystemError) in
            guard slot == nil else { return }
            var socket: Int32 = -1
            var pid: Int32 = 0
            guard procmgr_guardian_start(&socket, &pid) == 0 else { throw .current("fork(guardian)") }
            // Opened at once, while nothing can have reaped the child: the pidfd then names
            // this guardian even if the pid were recycled later.
            slot = Preforked(socket: socket, pid: pid, pidfd: try? PIDFD.open(pid: pid))
        }
    }

    /// Ends a preforked guardian that will not be needed (`orphans: adopt`): it is disarmed and
    /// reaped. Without a preforked guardian, does nothing.
    public static func discardPreforked() {
        guard let taken = preforked.withLock({ slot -> Preforked? in
            defer { slot = nil }
            return slot
        }) else { return }
        _ = procmgr_guardian_send(taken.socket, Int32(PROCMGR_GUARDIAN_DISARM), 0)
        close(taken.socket)
        var status: Int32 = 0
        while waitpid(taken.pid, &status, 0) < 0, errno == EINTR {}
    }

    /// Forks the guardian — or takes the one ``prefork()`` made. Pass the process's
    /// ``ExitWatcher`` so the guardian's own exit is observed (and it is never reaped as an
    /// unknown orphan); the agent should alert when ``exit`` fires before shutdown.
    public static func start(
        watcher: ExitWatcher?,
        logger: Logger = Logger(label: "procmgr.runtime.guardian")
    ) throws(SystemError) -> Guardian {
        if let taken = preforked.withLock({ slot -> Preforked? in
            defer { slot = nil }
            return slot
        }) {
            let exit = watcher.flatMap { watcher in taken.pidfd.map { watcher.watch(pid: taken.pid, pidfd: $0) } }
            return Guardian(pid: taken.pid, socket: taken.socket, exit: exit, logger: logger)
        }
        var socket: Int32 = -1
        var pid: Int32 = 0
        if let watcher {
            let exit = try watcher.withChildCreation { () throws(SystemError) -> ExitFuture? in
                guard procmgr_guardian_start(&socket, &pid) == 0 else { throw .current("fork(guardian)") }
                guard let pidfd = try? PIDFD.open(pid: pid) else { return nil }
                return watcher.watch(pid: pid, pidfd: pidfd)
            }
            return Guardian(pid: pid, socket: socket, exit: exit, logger: logger)
        }
        guard procmgr_guardian_start(&socket, &pid) == 0 else { throw .current("fork(guardian)") }
        return Guardian(pid: pid, socket: socket, exit: nil, logger: logger)
    }

    /// Protects a process group: it is SIGKILLed if the agent dies before ``unregister(pgid:)``.
    public func register(pgid: Int32) throws(GuardianError) {
        try send(op: Int32(PROCMGR_GUARDIAN_ADD), pgid: pgid) { $0.insert(pgid) }
    }

    /// Call once the group is gone (all members exited), so a recycled pgid is never killed.
    public func unregister(pgid: Int32) throws(GuardianError) {
        try send(op: Int32(PROCMGR_GUARDIAN_REMOVE), pgid: pgid) { $0.remove(pgid) }
    }

    /// Number of registered groups.
    public var registeredCount: Int { state.withLock { $0.registered.count } }

    /// Tells the guardian to exit *without* killing anything (graceful shutdown after all
    /// groups were stopped, or `orphans: adopt` where children must survive the agent).
    public func disarm() {
        let socket = state.withLock { state -> Int32? in
            defer { state.socket = nil }
            return state.socket
        }
        guard let socket else { return }
        _ = procmgr_guardian_send(socket, Int32(PROCMGR_GUARDIAN_DISARM), 0)
        close(socket)
    }

    /// Closes the agent's end without disarming: the guardian behaves exactly as if the agent
    /// had died. For tests and for a last-resort "kill everything" on fatal errors.
    public func abandon() {
        let socket = state.withLock { state -> Int32? in
            defer { state.socket = nil }
            return state.socket
        }
        if let socket { close(socket) }
    }

    private func send(op: Int32, pgid: Int32, update: (inout Set<Int32>) -> Void) throws(GuardianError) {
        let failure = state.withLock { state -> GuardianError? in
            guard let socket = state.socket else { return .disarmed }
            guard procmgr_guardian_send(socket, op, pgid) == 0 else { return .guardianGone(errno: errno) }
            update(&state.registered)
            return nil
        }
        if let failure { throw failure }
    }
}
