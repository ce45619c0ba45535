import CProcmgrShims
import Glibc
public import Logging
import ProcmgrSupport

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
/// Noticing a dead guardian: it is the agent's child and watched through its pidfd by the
/// ``ExitWatcher`` (on the reactor), so its death is seen within a millisecond. The agent then
/// forks a new one and registers every live group with it again (a group registered meanwhile
/// is kept in the list even though the send failed, so the new guardian gets it too). If that
/// fails, it says so loudly: an error log, ``isUp`` false (for `/readyz` and the
/// `procmgr_guardian_up` gauge) and a ``Event/respawnFailed(_:)`` to observers; it tries again
/// every ``respawnRetryInterval``. A child being spawned at the instant a guardian is forked
/// holds a copy of its socket end until its exec (milliseconds).
///
/// Cgroups: with ``setKillCgroup(_:)`` the guardian also writes "1" to that cgroup v2
/// directory's `cgroup.kill` when the agent dies, which reaches every process of the agent's
/// subtree, including descendants that moved to another process group or session.
///
/// Limits: without a kill cgroup, a descendant that moved to another process group or session
/// (a daemonizing grandchild) is not reached. A child that spawns grandchildren in the
/// microseconds between clone and ``register(pgid:)`` and then loses the agent is covered only
/// by PDEATHSIG. Without a watcher (``start(watcher:logger:)`` with nil) a dead guardian is
/// noticed only by the next failing ``register(pgid:)``.
public final class Guardian: Sendable {
    public enum GuardianError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The guardian process is gone (killed, crashed); groups are unprotected.
        case guardianGone(errno: Int32)
        /// ``disarm()`` was called.
        case disarmed
        /// ``setKillCgroup(_:)`` got a path longer than the guardian keeps.
        case pathTooLong(String)

        public var description: String {
            switch self {
            case .guardianGone(let code): "the guardian process is gone (\(ErrnoName.describe(code))); children would survive a crash of the agent"
            case .disarmed: "the guardian was disarmed"
            case .pathTooLong(let path): "the cgroup path is too long for the guardian (\(path.utf8.count) bytes, at most \(PROCMGR_GUARDIAN_PATH_MAX - 1)): \(path)"
            }
        }
    }

    /// What happened to the guardian process, for observers (metrics, alerts).
    public enum Event: Sendable, Hashable {
        /// The guardian process died while the agent still relied on it.
        case died(pid: Int32, status: ProcessExitStatus)
        /// A new guardian runs and every live group is registered with it.
        case respawned(pid: Int32, groups: Int)
        /// No guardian could be started: children would survive a crash of the agent.
        case respawnFailed(SystemError)
    }

    private struct State {
        var socket: Int32?
        var pid: Int32
        var exit: ExitFuture?
        var registered: Set<Int32> = []
        /// The cgroup v2 directory killed on agent death (re-sent to a respawned guardian).
        var killCgroup: String?
        /// False between a death and a successful respawn.
        var up = true
        var respawns = 0
        /// When the last respawn succeeded (``EpollThread/now``), to pace a guardian that keeps dying.
        var lastRespawn: UInt64?
        var observers: [@Sendable (Event) -> Void] = []
    }

    /// How long after a failed respawn the next attempt is made; also the least time between
    /// two respawns (a guardian that dies at once must not turn into a fork loop).
    public static let respawnRetryInterval = Duration.seconds(5)

    private let state: LockedState<State>
    private let watcher: ExitWatcher?
    private let retryTimer: EpollThread.TimerToken?
    private let logger: Logger

    private init(pid: Int32, socket: Int32, exit: ExitFuture?, watcher: ExitWatcher?, logger: Logger) {
        self.state = LockedState(State(socket: socket, pid: pid, exit: exit))
        self.watcher = watcher
        self.retryTimer = watcher?.reactor.makeTimerToken()
        self.logger = logger
        exit.map { watchForDeath(pid: pid, exit: $0) }
    }

    /// The current guardian's pid (a respawn changes it).
    public var pid: Int32 { state.withLock { $0.pid } }

    /// Fulfilled when the current guardian process exits (when started with a watcher).
    public var exit: ExitFuture? { state.withLock { $0.exit } }

    /// False while no guardian protects the groups (it died and could not be re-spawned yet):
    /// the agent is not ready in that state (`/readyz`), and `procmgr_guardian_up` is 0.
    public var isUp: Bool { state.withLock { $0.up } }

    /// How many times a dead guardian was replaced.
    public var respawnCount: Int { state.withLock { $0.respawns } }

    /// Calls `observer` for every later ``Event``, on the thread that saw it (the reactor): keep
    /// it short.
    public func observe(_ observer: @escaping @Sendable (Event) -> Void) {
        state.withLock { $0.observers.append(observer) }
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
            return Guardian(pid: taken.pid, socket: taken.socket, exit: exit, watcher: watcher, logger: logger)
        }
        var socket: Int32 = -1
        var pid: Int32 = 0
        if let watcher {
            let exit = try fork(watcher: watcher, socket: &socket, pid: &pid)
            return Guardian(pid: pid, socket: socket, exit: exit, watcher: watcher, logger: logger)
        }
        guard procmgr_guardian_start(&socket, &pid) == 0 else { throw .current("fork(guardian)") }
        return Guardian(pid: pid, socket: socket, exit: nil, watcher: nil, logger: logger)
    }

    /// Forks a guardian watched by `watcher` (its exit future; nil if no pidfd could be opened).
    private static func fork(watcher: ExitWatcher, socket: inout Int32, pid: inout Int32) throws(SystemError) -> ExitFuture? {
        try watcher.withChildCreation { () throws(SystemError) -> ExitFuture? in
            guard procmgr_guardian_start(&socket, &pid) == 0 else { throw .current("fork(guardian)") }
            guard let pidfd = try? PIDFD.open(pid: pid) else { return nil }
            return watcher.watch(pid: pid, pidfd: pidfd)
        }
    }

    /// Protects a process group: it is SIGKILLed if the agent dies before ``unregister(pgid:)``.
    public func register(pgid: Int32) throws(GuardianError) {
        try send(op: Int32(PROCMGR_GUARDIAN_ADD), pgid: pgid) { $0.insert(pgid) }
    }

    /// Call once the group is gone (all members exited), so a recycled pgid is never killed.
    public func unregister(pgid: Int32) throws(GuardianError) {
        try send(op: Int32(PROCMGR_GUARDIAN_REMOVE), pgid: pgid) { $0.remove(pgid) }
    }

    /// Makes the guardian write "1" to `<path>/cgroup.kill` when the agent dies (a cgroup v2
    /// directory: ``CgroupTree/guardianKillPath``), besides killing the registered groups.
    /// Replaces an earlier path. Kept even when the send fails, like a registration, so a
    /// respawned guardian gets it.
    public func setKillCgroup(_ path: String) throws(GuardianError) {
        guard path.utf8.count < Int(PROCMGR_GUARDIAN_PATH_MAX) else { throw .pathTooLong(path) }
        let failure = state.withLock { state -> GuardianError? in
            guard let socket = state.socket else { return .disarmed }
            state.killCgroup = path
            guard procmgr_guardian_send_kill_cgroup(socket, path) == 0 else { return .guardianGone(errno: errno) }
            return nil
        }
        if let failure { throw failure }
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
        if let retryTimer { watcher?.reactor.cancelTimer(retryTimer) }
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

    /// The registry change is kept even when the send fails: a guardian that is gone is being
    /// replaced, and its replacement is given the whole list.
    private func send(op: Int32, pgid: Int32, update: (inout Set<Int32>) -> Void) throws(GuardianError) {
        let failure = state.withLock { state -> GuardianError? in
            guard let socket = state.socket else { return .disarmed }
            update(&state.registered)
            guard procmgr_guardian_send(socket, op, pgid) == 0 else { return .guardianGone(errno: errno) }
            return nil
        }
        if let failure { throw failure }
    }

    // MARK: Death and respawn

    private func watchForDeath(pid: Int32, exit: ExitFuture) {
        exit.onFulfill { [weak self] status in self?.died(pid: pid, status: status) }
    }

    /// Reactor thread: a guardian process ended. Expected after ``disarm()`` / ``abandon()``;
    /// otherwise the groups are unprotected until a new guardian has them all.
    private func died(pid: Int32, status: ProcessExitStatus) {
        let now = EpollThread.now
        let (relied, paced, observers) = state.withLock { state -> (Bool, Bool, [@Sendable (Event) -> Void]) in
            guard state.socket != nil, state.pid == pid else { return (false, false, []) }
            state.up = false
            let paced = state.lastRespawn.map { now &- $0 < Self.respawnRetryInterval.nanoseconds } ?? false
            return (true, paced, state.observers)
        }
        guard relied else { return }
        for observer in observers { observer(.died(pid: pid, status: status)) }
        if paced, let watcher, let retryTimer {
            logger.error(
                "NO GUARDIAN: the guardian process died again soon after its respawn; children would survive a crash of the agent. Next attempt later.",
                metadata: ["pid": "\(pid)", "status": "\(status)", "retry_in": "\(Self.respawnRetryInterval)"])
            watcher.reactor.schedule(retryTimer, at: EpollThread.deadline(after: Self.respawnRetryInterval)) { [weak self] in self?.respawn() }
            return
        }
        logger.error("the guardian process died; re-spawning it", metadata: ["pid": "\(pid)", "status": "\(status)"])
        respawn()
    }

    /// Forks a new guardian and registers every live group with it, under the state lock so no
    /// concurrent register or unregister is lost between the list and the new socket.
    private func respawn() {
        guard let watcher else { return }
        let outcome = state.withLock { state -> Result<(pid: Int32, groups: Int, exit: ExitFuture?), SystemError>? in
            guard let old = state.socket, !state.up else { return nil }
            var socket: Int32 = -1
            var pid: Int32 = 0
            let exit: ExitFuture?
            do throws(SystemError) {
                exit = try Self.fork(watcher: watcher, socket: &socket, pid: &pid)
            } catch {
                return .failure(error)
            }
            for pgid in state.registered where procmgr_guardian_send(socket, Int32(PROCMGR_GUARDIAN_ADD), pgid) != 0 {
                let error = SystemError.current("register group \(pgid) with the new guardian")
                _ = procmgr_guardian_send(socket, Int32(PROCMGR_GUARDIAN_DISARM), 0)
                close(socket)
                return .failure(error)
            }
            if let path = state.killCgroup, procmgr_guardian_send_kill_cgroup(socket, path) != 0 {
                let error = SystemError.current("give the new guardian the cgroup \(path)")
                _ = procmgr_guardian_send(socket, Int32(PROCMGR_GUARDIAN_DISARM), 0)
                close(socket)
                return .failure(error)
            }
            close(old)
            state.socket = socket
            state.pid = pid
            state.exit = exit
            state.up = true
            state.respawns += 1
            state.lastRespawn = EpollThread.now
            return .success((pid, state.registered.count, exit))
        }
        guard let outcome else { return }
        let observers = state.withLock { $0.observers }
        switch outcome {
        case .success(let new):
            logger.notice("guardian re-spawned; every live group is protected again", metadata: ["pid": "\(new.pid)", "groups": "\(new.groups)"])
            new.exit.map { watchForDeath(pid: new.pid, exit: $0) }
            for observer in observers { observer(.respawned(pid: new.pid, groups: new.groups)) }
        case .failure(let error):
            logger.error(
                "NO GUARDIAN: cannot re-spawn it; children would survive a crash of the agent. Retrying.",
                metadata: ["error": "\(error)", "retry_in": "\(Self.respawnRetryInterval)"])
            for observer in observers { observer(.respawnFailed(error)) }
            if let retryTimer {
                watcher.reactor.schedule(retryTimer, at: EpollThread.deadline(after: Self.respawnRetryInterval)) { [weak self] in self?.respawn() }
            }
        }
    }
}
