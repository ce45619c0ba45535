import ProcmgrSupport
import CProcmgrShims
import Glibc
public import Logging
import Synchronization

/// Notices process exits without polling and reaps every child, so no zombie remains.
///
/// Why this design:
/// - Each tracked process is watched through its pidfd on the agent's reactor (the one
///   ``EpollThread`` it shares with output capture, stops and the config watcher); a pidfd
///   becomes readable the moment the process exits, so an exit is noticed within about a
///   millisecond and reaped with `waitid(P_PIDFD)` (which cannot touch any other process).
/// - Because the agent is a child subreaper, re-parented grandchildren become our children too
///   and must be reaped, but nobody tracks them. A SIGCHLD handler (which only writes to an
///   eventfd) wakes the same thread, which then *peeks* with `waitid(P_ALL, WNOWAIT)`: a
///   tracked pid is reaped through its pidfd (its status is delivered normally), an untracked
///   one is reaped by pid. A pid that belongs to a spawn still in progress (clone returned but
///   not yet tracked) is left alone until the spawn registered it, so a fast-exiting child's
///   status is never stolen.
/// - Only one watcher per process may reap untracked children (a second one would steal the
///   first one's statuses); later instances only watch their own pidfds.
/// - Every untracked child is reaped: orphans of managed trees can sit in any process group or
///   session (a managed supervisor makes its own groups), and a zombie must never be left.
///   Consequently nothing else in the process may wait for its own children by pid
///   (`Foundation.Process` would find its child's status gone): the agent starts children only
///   through ``SpawnThread``.
public final class ExitWatcher: Sendable {
    public struct Configuration: Sendable {
        /// Reap children nobody tracks (re-parented orphans). Requires being the only
        /// sweeping watcher in the process.
        public var reapUntrackedChildren: Bool
        /// Install a SIGCHLD handler that wakes the sweep immediately (it chains to any
        /// previous handler).
        public var installSIGCHLDHandler: Bool
        /// Safety-net sweep period, in case a wake-up was missed (a SIGCHLD handler installed
        /// later by someone else that does not chain to ours). Tracked children never depend
        /// on it (their pidfds wake the loop), only untracked zombies do, and each sweep makes
        /// the kernel walk every child: with 1,000 children a sweep costs ~300 µs, which at the
        /// old 1 s period was most of the agent's idle CPU.
        public var safetySweepInterval: Duration

        public init(
            reapUntrackedChildren: Bool = true,
            installSIGCHLDHandler: Bool = true,
            safetySweepInterval: Duration = .seconds(10)
        ) {
            self.reapUntrackedChildren = reapUntrackedChildren
            self.installSIGCHLDHandler = installSIGCHLDHandler
            self.safetySweepInterval = safetySweepInterval
        }
    }

    private struct Tracked {
        let pidfd: PIDFD
        let future: ExitFuture
        let token: EpollThread.Token
    }

    private struct State {
        var tracked: [Int32: Tracked] = [:]
        var untrackedReaped = 0
    }

    private static let sweeperClaimed = Atomic<Bool>(false)
    /// Children tracked by *any* watcher of this process, and creations in flight anywhere: the
    /// sweeping watcher must not reap what another watcher (an embedder's second runtime, a test
    /// harness next to the runtime under test) is about to collect through its own pidfd.
    private static let processWide = LockedState(ProcessWideChildren())
    /// The watcher that reaps untracked children, for whoever unblocks a deferred sweep.
    private static let sweeper = WeakBox<ExitWatcher>()

    private let state = LockedState(State())
    /// The reactor the pidfds are watched on.
    public let reactor: EpollThread
    private let logger: Logger
    private let sweeps: Bool
    private let safetySweepInterval: Duration
    private let safetySweepTimer: EpollThread.TimerToken
    private let onUntrackedExit: (@Sendable (_ pid: Int32, _ status: ProcessExitStatus) -> Void)?

    /// Starts watching on `reactor` (handlers run there; keep it the agent's one reactor).
    /// - Parameter onUntrackedExit: called on the reactor thread for every reaped child that
    ///   was not tracked (re-parented orphans); keep it short.
    public init(
        reactor: EpollThread,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "procmgr.runtime.exit-watcher"),
        onUntrackedExit: (@Sendable (_ pid: Int32, _ status: ProcessExitStatus) -> Void)? = nil
    ) throws(SystemError) {
        self.reactor = reactor
        self.logger = logger
        self.onUntrackedExit = onUntrackedExit
        self.safetySweepInterval = configuration.safetySweepInterval
        self.safetySweepTimer = reactor.makeTimerToken()
        var sweeps = false
        if configuration.reapUntrackedChildren {
            sweeps = Self.sweeperClaimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            if !sweeps {
                logger.warning("another ExitWatcher already reaps untracked children in this process; this one only watches its own pidfds")
            }
        }
        self.sweeps = sweeps
        if sweeps {
            Self.sweeper.value = self
            scheduleSafetySweep()
        }
        if sweeps && configuration.installSIGCHLDHandler {
            let fd = procmgr_eventfd(0, 1)
            guard fd >= 0 else { throw .current("eventfd(SIGCHLD)") }
            try reactor.register(fd: fd, events: EpollThread.Events.readable) { [weak self] _ in
                var value: UInt64 = 0
                _ = read(fd, &value, 8)
                self?.sweep()
            }
            guard procmgr_install_sigchld_notifier(fd) == 0 else { throw .current("sigaction(SIGCHLD)") }
        }
    }

    /// The safety-net sweep, on the reactor's timer heap (re-armed each time it runs).
    private func scheduleSafetySweep() {
        reactor.schedule(safetySweepTimer, at: EpollThread.deadline(after: safetySweepInterval)) { [weak self] in
            guard let self else { return }
            self.sweep()
            self.scheduleSafetySweep()
        }
    }

    /// Number of processes being watched.
    public var trackedCount: Int { state.withLock { $0.tracked.count } }

    /// Number of untracked children (orphans) reaped so far.
    public var untrackedReapedCount: Int { state.withLock { $0.untrackedReaped } }

    /// Brackets code that creates a child process of this process: while `body` runs, the
    /// sweep leaves untracked zombies alone, so call ``watch(pid:pidfd:)`` inside `body`.
    public func withChildCreation<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        Self.processWide.withLock { $0.creationsInFlight += 1 }
        defer {
            let resume = Self.processWide.withLock { children -> Bool in
                children.creationsInFlight -= 1
                return children.takeDeferredSweep()
            }
            if resume { Self.wakeSweeper() }
        }
        return try body()
    }

    /// Watches a process through its pidfd and returns its future exit status. Works for
    /// children (the status is reaped) and for other processes such as adopted orphans (the
    /// exit is noticed, the status is ``ProcessExitStatus/unknown``).
    ///
    /// Watching a pid that is already watched returns the existing future.
    public func watch(pid: Int32, pidfd: PIDFD) -> ExitFuture {
        let token = reactor.makeToken()
        let (future, isNew) = state.withLock { state -> (ExitFuture, Bool) in
            if let existing = state.tracked[pid] { return (existing.future, false) }
            let future = ExitFuture()
            state.tracked[pid] = Tracked(pidfd: pidfd, future: future, token: token)
            Self.processWide.withLock { _ = $0.tracked.insert(pid) }
            return (future, true)
        }
        guard isNew else { return future }
        do {
            // One-shot: re-armed only in the rare case the exit is not yet collectable.
            try reactor.register(fd: pidfd.rawValue, events: EpollThread.Events.readable | EpollThread.Events.oneShot, token: token) { [self, pidfd] _ in
                _ = pidfd  // keeps the descriptor open while registered
                self.pidfdReadable(pid)
            }
        } catch {
            logger.error("cannot watch pid \(pid): \(error); its exit will only be seen by the sweep")
        }
        return future
    }

    /// Waits for a tracked process to exit. Nil when `pid` is not tracked (never was, or its
    /// status was already delivered and forgotten — keep the ``ExitFuture`` instead).
    public func waitForExit(pid: Int32) async -> ProcessExitStatus? {
        guard let future = state.withLock({ $0.tracked[pid]?.future }) else { return nil }
        return await future.wait()
    }

    // MARK: - loop thread

    private func pidfdReadable(_ pid: Int32) {
        guard let entry = state.withLock({ $0.tracked[pid] }) else { return }
        collect(pid: pid, entry: entry)
        sweep()
    }

    /// Reaps a tracked process through its pidfd; returns false if it has not exited yet.
    @discardableResult
    private func collect(pid: Int32, entry: Tracked) -> Bool {
        var reapedPID: Int32 = 0
        var code: Int32 = 0
        var status: Int32 = 0
        let rc = procmgr_wait_pidfd(entry.pidfd.rawValue, &reapedPID, &code, &status)
        let exit: ProcessExitStatus
        switch rc {
        case 1:
            exit = ProcessExitStatus(siCode: code, siStatus: status)
        case 0:
            if entry.pidfd.hasExited {
                // Readable but not yet collectable: try again shortly (never observed).
                reactor.schedule(reactor.makeTimerToken(), at: EpollThread.deadline(after: .milliseconds(1))) { [reactor] in
                    reactor.rearm(entry.token, fd: entry.pidfd.rawValue, events: EpollThread.Events.readable | EpollThread.Events.oneShot)
                }
            } else {
                reactor.rearm(entry.token, fd: entry.pidfd.rawValue, events: EpollThread.Events.readable | EpollThread.Events.oneShot)
            }
            return false
        default:
            // ECHILD: not our child (adopted) or reaped elsewhere. The process is gone.
            exit = .unknown
        }
        let (removed, resume) = state.withLock { state -> (Bool, Bool) in
            guard state.tracked[pid]?.token == entry.token else { return (false, false) }
            state.tracked[pid] = nil
            let resume = Self.processWide.withLock { children -> Bool in
                _ = children.tracked.remove(pid)
                return children.takeDeferredSweep()
            }
            return (true, resume)
        }
        reactor.deregister(entry.token)
        if removed { entry.future.fulfill(exit) }
        if resume { Self.wakeSweeper() }
        return true
    }

    private enum SweepDecision {
        case tracked(Tracked)
        case untracked
        /// Blocked: deferred until whatever blocks it is over (see ``ProcessWideChildren``).
        case wait
    }

    /// Why a sweep waits, for every watcher of the process. A sweep that meets a child being
    /// created, or a zombie another watcher will collect through its own pidfd, must leave it —
    /// and then everything behind it in the kernel's list. It marks the sweep deferred, and the
    /// creation that ends (last one) or the collection that removes the blocker wakes the
    /// sweeper. Set and taken under this one lock, so no wake-up is lost. (Waiting for the next
    /// SIGCHLD or the 10 s safety tick instead kept untracked zombies, and so a stopped group,
    /// around past a grace period: seen in CI.)
    private struct ProcessWideChildren {
        var tracked: Set<Int32> = []
        var creationsInFlight = 0
        var sweepDeferred = false

        /// Whether a deferred sweep may run now; clears the mark if so.
        mutating func takeDeferredSweep() -> Bool {
            guard sweepDeferred, creationsInFlight == 0 else { return false }
            sweepDeferred = false
            return true
        }
    }

    private static func wakeSweeper() {
        guard let sweeper = sweeper.value else { return }
        sweeper.reactor.execute { sweeper.sweep() }
    }

    /// Reaps exited children nobody tracks; see the type documentation for the rules.
    private func sweep() {
        guard sweeps else { return }
        var lastPID: Int32 = 0
        var repeats = 0
        while true {
            var pid: Int32 = 0
            guard procmgr_peek_exited_child(&pid) == 1, pid > 0 else { return }
            if pid == lastPID {
                repeats += 1
                if repeats > 3 { return }
            } else {
                lastPID = pid
                repeats = 0
            }
            let decision = state.withLock { state -> SweepDecision in
                if let entry = state.tracked[pid] { return .tracked(entry) }
                return Self.processWide.withLock { children -> SweepDecision in
                    guard children.tracked.contains(pid) || children.creationsInFlight > 0 else { return .untracked }
                    children.sweepDeferred = true
                    return .wait
                }
            }
            switch decision {
            case .wait:
                return
            case .tracked(let entry):
                if !collect(pid: pid, entry: entry) { return }
            case .untracked:
                var code: Int32 = 0
                var status: Int32 = 0
                guard procmgr_reap_pid(pid, &code, &status) == 1 else { continue }
                let exit = ProcessExitStatus(siCode: code, siStatus: status)
                state.withLock { $0.untrackedReaped += 1 }
                logger.debug("reaped untracked child", metadata: ["pid": "\(pid)", "status": "\(exit)"])
                onUntrackedExit?(pid, exit)
            }
        }
    }
}

/// A weak reference that can be filled after the referent finished initialising.
final class WeakBox<T: AnyObject & Sendable>: Sendable {
    private let storage = LockedState<Weak>(Weak())
    private struct Weak { weak var value: T? }
    var value: T? {
        get { storage.withLock { $0.value } }
        set { storage.withLock { $0.value = newValue } }
    }
}
