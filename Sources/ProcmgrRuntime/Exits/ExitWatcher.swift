import ProcmgrSupport
import CProcmgrShims
import Glibc
public import Logging
import Synchronization

/// Notices process exits without polling and reaps every child, so no zombie remains.
///
/// Why this design:
/// - A SIGCHLD handler (which only writes to an eventfd) wakes the agent's reactor (the one
///   ``EpollThread`` it shares with output capture, stops and the config watcher), which then
///   *peeks* with `waitid(P_ALL, WNOWAIT)` and reaps each exited child by pid (`waitid(P_PID)`,
///   O(1)), so an exit is noticed within about a millisecond. The agent's own children cost no
///   descriptor for this (``watchChild(pid:pidfd:)``): with 10,000 children a pidfd each was a
///   third of the agent's descriptors. The price is one walk of the kernel's child list per
///   wake-up (~0.3 ms with 10,000 children; a burst of exits is reaped in one wake-up).
/// - Processes that are not our children (adopted after a restart) cannot be waited for: they
///   are watched through a pidfd, which becomes readable when they exit (``watch(pid:pidfd:)``);
///   so is a child of a watcher that does not sweep (a second runtime in the same process).
/// - Because the agent is a child subreaper, re-parented grandchildren become our children too
///   and must be reaped, but nobody tracks them; they are reaped by pid too. A child that exits
///   while a spawn is in progress (clone returned but not yet tracked) may be that spawn's: it is
///   reaped and its status kept until the creation ends, for the spawn to claim when it tracks
///   its pid, so a fast-exiting child's status is never lost and no sweep waits for a creation.
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
        /// `nil` for a child reaped by the sweep (``watchChild(pid:pidfd:)``).
        let pidfd: PIDFD?
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
    /// Whether children are reaped by the SIGCHLD-woken sweep alone (no pidfd each): only the
    /// process's one sweeping watcher with its SIGCHLD handler.
    public let reapsChildrenBySweep: Bool
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
        self.reapsChildrenBySweep = sweeps && configuration.installSIGCHLDHandler
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
    /// statuses of untracked children the sweep reaps are kept for `body`'s ``watchChild(pid:pidfd:)``
    /// (or ``watch(pid:pidfd:)``) to claim, so call it inside `body`.
    public func withChildCreation<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        Self.processWide.withLock { $0.creationsInFlight += 1 }
        defer {
            let (resume, unclaimed) = Self.processWide.withLock { children -> (Bool, [Int32: ProcessExitStatus]) in
                children.creationsInFlight -= 1
                return (children.takeDeferredSweep(), children.takeUnclaimed())
            }
            if !unclaimed.isEmpty { Self.sweeper.value?.reportUntracked(unclaimed) }
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
        let (future, isNew) = state.withLock { state in
            Self.track(pid, as: Tracked(pidfd: pidfd, future: ExitFuture(), token: token), in: &state)
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

    /// Watches a child this process just created (`pidfd` from the clone) and returns its
    /// future exit status and the reference to signal it through.
    ///
    /// A watcher that reaps untracked children with a SIGCHLD handler keeps no descriptor for
    /// the child: the handler wakes the sweep, which reaps it by pid (`waitid(P_PID)`, O(1)); the
    /// sweep's one walk of the kernel's child list per wake-up (~0.3 ms with 10,000 children) is
    /// the price of holding 10,000 fewer descriptors. Its pid stays valid for signals until
    /// then (see ``ProcessReference``). Any other watcher watches the pidfd as ``watch(pid:pidfd:)``.
    /// Call it inside ``withChildCreation(_:)``.
    public func watchChild(pid: Int32, pidfd: PIDFD) -> (exit: ExitFuture, reference: ProcessReference) {
        guard reapsChildrenBySweep else {
            return (watch(pid: pid, pidfd: pidfd), .pidfd(pidfd))
        }
        let token = reactor.makeToken()
        let (future, _) = state.withLock { state in
            Self.track(pid, as: Tracked(pidfd: nil, future: ExitFuture(), token: token), in: &state)
        }
        return (future, .child(pid: pid, watcher: self))
    }

    /// Under the watcher's lock: the existing future of `pid`, or `entry`'s future fulfilled at
    /// once with a status the sweep kept for it (it exited and was reaped before it could be
    /// tracked), or `entry` tracked — claim and track in one step of the process-wide lock, so a
    /// sweep never keeps a status for a pid that is already tracked. `isNew`: `entry` was tracked.
    private static func track(_ pid: Int32, as entry: Tracked, in state: inout State) -> (future: ExitFuture, isNew: Bool) {
        if let existing = state.tracked[pid] { return (existing.future, false) }
        let kept = processWide.withLock { children -> ProcessExitStatus? in
            if let status = children.claim(pid) { return status }
            children.tracked.insert(pid)
            return nil
        }
        if let kept {
            entry.future.fulfill(kept)
            return (entry.future, false)
        }
        state.tracked[pid] = entry
        return (entry.future, true)
    }

    /// Signals a child tracked by ``watchChild(pid:pidfd:)`` if it was not reaped yet. Under
    /// the lock the sweep reaps under, so the pid cannot have been recycled. Returns 0 or an
    /// errno (ESRCH once reaped).
    public func signalChild(pid: Int32, signal: Int32) -> Int32 {
        state.withLock { state -> Int32 in
            guard let entry = state.tracked[pid], entry.pidfd == nil else { return ESRCH }
            return Glibc.kill(pid, signal) == 0 ? 0 : errno
        }
    }

    /// Whether `pid` is tracked (not yet reaped and delivered).
    public func isTrackedChild(_ pid: Int32) -> Bool {
        state.withLock { $0.tracked[pid] != nil }
    }

    // MARK: - loop thread

    private func pidfdReadable(_ pid: Int32) {
        guard let entry = state.withLock({ $0.tracked[pid] }), let pidfd = entry.pidfd else { return }
        collect(pid: pid, entry: entry, pidfd: pidfd)
        sweep()
    }

    /// Reaps a child tracked without a pidfd, by pid, under the state lock (so no
    /// ``signalChild(pid:signal:)`` can run between the reap and the removal). Returns false if
    /// it was not collectable.
    private func collectChild(pid: Int32, entry: Tracked) -> Bool {
        var code: Int32 = 0
        var status: Int32 = 0
        let (reaped, resume) = state.withLock { state -> (Bool, Bool) in
            guard state.tracked[pid]?.token == entry.token else { return (false, false) }
            let rc = procmgr_reap_pid(pid, &code, &status)
            guard rc != 0 else { return (false, false) }
            if rc != 1 { code = 0; status = 0 }  // ECHILD: reaped elsewhere; the status is unknown
            state.tracked[pid] = nil
            let resume = Self.processWide.withLock { children -> Bool in
                _ = children.tracked.remove(pid)
                return children.takeDeferredSweep()
            }
            return (true, resume)
        }
        guard reaped else { return false }
        entry.future.fulfill(code == 0 ? .unknown : ProcessExitStatus(siCode: code, siStatus: status))
        if resume { Self.wakeSweeper() }
        return true
    }

    /// Reaps a tracked process through its pidfd; returns false if it has not exited yet.
    @discardableResult
    private func collect(pid: Int32, entry: Tracked, pidfd: PIDFD) -> Bool {
        var reapedPID: Int32 = 0
        var code: Int32 = 0
        var status: Int32 = 0
        let rc = procmgr_wait_pidfd(pidfd.rawValue, &reapedPID, &code, &status)
        let exit: ProcessExitStatus
        switch rc {
        case 1:
            exit = ProcessExitStatus(siCode: code, siStatus: status)
        case 0:
            if pidfd.hasExited {
                // Readable but not yet collectable: try again shortly (never observed).
                reactor.schedule(reactor.makeTimerToken(), at: EpollThread.deadline(after: .milliseconds(1))) { [reactor] in
                    reactor.rearm(entry.token, fd: pidfd.rawValue, events: EpollThread.Events.readable | EpollThread.Events.oneShot)
                }
            } else {
                reactor.rearm(entry.token, fd: pidfd.rawValue, events: EpollThread.Events.readable | EpollThread.Events.oneShot)
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

    /// Orphans reaped during a creation that no creation claimed.
    private func reportUntracked(_ statuses: [Int32: ProcessExitStatus]) {
        state.withLock { $0.untrackedReaped += statuses.count }
        for (pid, exit) in statuses {
            logger.debug("reaped untracked child", metadata: ["pid": "\(pid)", "status": "\(exit)"])
            onUntrackedExit?(pid, exit)
        }
    }

    private enum SweepDecision {
        case tracked(Tracked)
        case untracked
        /// Untracked while a creation was in flight: reaped and kept for the creation to claim.
        case keptForCreation
        /// Reaped by someone else between the peek and the reap.
        case gone
        /// Blocked: deferred until whatever blocks it is over (see ``ProcessWideChildren``).
        case wait
    }

    /// The children of the whole process, for every watcher. A sweep that meets a zombie another
    /// watcher will collect through its own pidfd must leave it — and then everything behind it in
    /// the kernel's list. It marks the sweep deferred, and the collection that removes the blocker
    /// (or the end of the last creation) wakes the sweeper. A zombie nobody tracks met during a
    /// creation is reaped and kept in ``reapedDuringCreation`` instead: deferring the sweep until
    /// no creation was in flight starved it while thousands of spawns ran back to back. Set and taken under this one lock, so no wake-up is lost. (Waiting for the next
    /// SIGCHLD or the 10 s safety tick instead kept untracked zombies, and so a stopped group,
    /// around past a grace period: seen in CI.)
    private struct ProcessWideChildren {
        var tracked: Set<Int32> = []
        var creationsInFlight = 0
        var sweepDeferred = false
        /// Statuses the sweep reaped while a creation was in flight, of children nobody tracked
        /// yet: each may be the new child itself, which claims its status when it is tracked
        /// (a pid is not reused within a creation). Whatever is left when no creation is in
        /// flight any more was a re-parented orphan.
        var reapedDuringCreation: [Int32: ProcessExitStatus] = [:]

        mutating func claim(_ pid: Int32) -> ProcessExitStatus? {
            reapedDuringCreation.removeValue(forKey: pid)
        }

        /// The statuses no creation claimed, once none is in flight.
        mutating func takeUnclaimed() -> [Int32: ProcessExitStatus] {
            guard creationsInFlight == 0, !reapedDuringCreation.isEmpty else { return [:] }
            defer { reapedDuringCreation = [:] }
            return reapedDuringCreation
        }

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
                    if children.tracked.contains(pid) {
                        children.sweepDeferred = true
                        return .wait
                    }
                    guard children.creationsInFlight > 0 else { return .untracked }
                    // Reaped and kept under both locks: a creation tracking this pid now either
                    // finds its status here or tracked it before this decision (which then
                    // collected it as tracked) — never a status kept for a pid already tracked.
                    var code: Int32 = 0
                    var status: Int32 = 0
                    guard procmgr_reap_pid(pid, &code, &status) == 1 else { return .gone }
                    children.reapedDuringCreation[pid] = ProcessExitStatus(siCode: code, siStatus: status)
                    return .keptForCreation
                }
            }
            switch decision {
            case .wait:
                return
            case .gone, .keptForCreation:
                continue
            case .tracked(let entry):
                if let pidfd = entry.pidfd {
                    if !collect(pid: pid, entry: entry, pidfd: pidfd) { return }
                } else if !collectChild(pid: pid, entry: entry) {
                    return
                }
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
