import ProcmgrSupport
import Glibc
import Synchronization

/// How a group stop ended.
public enum StopOutcome: String, Sendable, Hashable {
    /// Nothing was running any more when the stop began.
    case alreadyGone
    /// The leader exited and the group emptied within the grace period.
    case exitedInGrace
    /// The grace period expired and the group was SIGKILLed.
    case killedAfterGrace
}

/// The result of ``GroupStopper/stop(_:signal:grace:cgroup:)``.
public struct StopResult: Sendable, Hashable {
    public var outcome: StopOutcome
    /// From the (first) stop call until the group was seen empty (or given up on).
    public var elapsed: Duration
    /// The leader's exit status, if it was observed.
    public var leaderExit: ProcessExitStatus?
    /// False only if members were still present after SIGKILL and the post-kill timeout
    /// (processes stuck in uninterruptible sleep, or zombies whose parent does not reap).
    public var groupEmpty: Bool
}

/// Stops a process group: signal, grace period, SIGKILL.
///
/// Why group-wide: a service is often a shell or supervisor with helpers; signalling only the
/// leader leaves the helpers running. Children lead their own group (see ``SpawnThread``), so
/// `kill(-pgid, sig)` reaches all of them.
///
/// Waiting: the leader's exit is event-driven (SIGCHLD or its pidfd, through ``ExitWatcher``). Whether the
/// rest of the group is gone has no event (group members may not be our children), so after the
/// leader's exit — and only then — `kill(-pgid, 0)` is polled with a short backoff
/// (0.25 ms doubling up to 10 ms). Reaped members disappear at once; members that are
/// zombies count until reaped, which the subreaper sweep does within a millisecond.
///
/// With the process's cgroup (``ProcessCgroup``), membership is the truth: the stop signal
/// also goes to every member (a descendant that left the group with `setsid()` or a double
/// fork), the SIGKILL at the deadline is ``ProcessCgroup/killAll()`` besides the group kill, and
/// "gone" also needs the cgroup empty — polled with the same backoff as the group.
///
/// Re-calls: stopping a group that is already being stopped joins that stop; the deadline only
/// ever shrinks (a second call with a shorter grace makes the SIGKILL come earlier), the first
/// signal is kept, and every caller gets the same result.
///
/// Deadline: a timer on the agent's reactor (its ``EpollThread`` timer heap, one timerfd for every
/// deadline of the process) sends the SIGKILL at the grace deadline, so the kill is on time even
/// when Swift's cooperative pool is busy.
///
/// The stop runs to completion even if the calling task is cancelled.
public final class GroupStopper: Sendable {
    private final class Operation: Sendable {
        let pgid: Int32
        let leader: ProcessReference?
        let cgroup: ProcessCgroup?
        let start: ContinuousClock.Instant
        /// The deadline, and whether the reactor timer may still be (re)scheduled (guarded
        /// together so a late shrink can never re-arm a retired timer).
        private let timing: LockedState<(deadline: ContinuousClock.Instant, timerOpen: Bool)>
        /// SIGKILL was sent (by the timer or by the stop loop).
        let killed = Atomic<Bool>(false)
        /// The grace phase is over; a late timer must not act any more.
        let graceOver = Atomic<Bool>(false)
        let wakeup = Wakeup()
        let result = OneShot<StopResult>()
        private let reactor: EpollThread
        private let timer: EpollThread.TimerToken

        init(pgid: Int32, leader: ProcessReference?, cgroup: ProcessCgroup?, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant, reactor: EpollThread) {
            self.pgid = pgid
            self.leader = leader
            self.cgroup = cgroup
            self.start = start
            self.timing = LockedState((deadline, true))
            self.reactor = reactor
            self.timer = reactor.makeTimerToken()
        }

        var currentDeadline: ContinuousClock.Instant { timing.withLock { $0.deadline } }

        /// Schedules the SIGKILL on the reactor for the current deadline (a deadline in the past
        /// fires at the reactor's next turn).
        func armTimer() {
            timing.withLock { timing in
                guard timing.timerOpen else { return }
                schedule(for: timing.deadline)
            }
        }

        /// Cancels the timer for good.
        func retireTimer() {
            timing.withLock { timing in
                guard timing.timerOpen else { return }
                timing.timerOpen = false
                reactor.cancelTimer(timer)
            }
        }

        /// Called under `timing`'s lock, so a schedule never races a retire.
        private func schedule(for deadline: ContinuousClock.Instant) {
            let remaining = ContinuousClock.now.duration(to: deadline)
            reactor.schedule(timer, at: EpollThread.deadline(after: max(remaining, .zero))) { [self] in timerFired() }
        }

        func shrink(to candidate: ContinuousClock.Instant) {
            let changed = timing.withLock { timing -> Bool in
                guard candidate < timing.deadline else { return false }
                timing.deadline = candidate
                if timing.timerOpen { schedule(for: candidate) }
                return true
            }
            if changed { wakeup.signal() }
        }

        /// Sends SIGKILL to the group (and the leader, in case it left the group) and kills
        /// every member of the cgroup, once.
        func kill() {
            guard killed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
            cgroup?.killAll()
            _ = Glibc.kill(-pgid, SIGKILL)
            leader?.sendSignal(SIGKILL)
            wakeup.signal()
        }

        /// Reactor thread: the grace period has expired.
        private func timerFired() {
            guard !graceOver.load(ordering: .acquiring) else { return }
            kill()
        }
    }

    private let operations = LockedState<[Int32: Operation]>([:])
    private let postKillTimeout: Duration
    private let reactor: EpollThread

    /// - Parameters:
    ///   - reactor: the agent's reactor; grace deadlines are timers on its heap, and the SIGKILL
    ///     is sent from its thread, so it is on time even when Swift's cooperative pool is
    ///     congested.
    ///   - postKillTimeout: how long to wait for the group to disappear after SIGKILL before
    ///     reporting ``StopResult/groupEmpty`` = false.
    public init(reactor: EpollThread, postKillTimeout: Duration = .seconds(5)) {
        self.postKillTimeout = postKillTimeout
        self.reactor = reactor
    }

    /// Stops `process`'s group: sends `signal` to the group, waits until the leader exited and
    /// the group is empty or `grace` expired, then SIGKILLs the group and waits until empty.
    /// With `cgroup`, every member of it is signalled and killed too, and must be gone.
    public func stop(_ process: ProcessHandle, signal: Int32 = ProcessSignal.term, grace: Duration, cgroup: ProcessCgroup? = nil) async -> StopResult {
        await stopGroup(pgid: process.pgid, leader: process.leader, leaderExit: process.exit, signal: signal, grace: grace, cgroup: cgroup)
    }

    /// Same as ``stop(_:signal:grace:cgroup:)`` for a group known only by id (leader optional).
    public func stopGroup(
        pgid: Int32,
        leader: ProcessReference?,
        leaderExit: ExitFuture?,
        signal: Int32 = ProcessSignal.term,
        grace: Duration,
        cgroup: ProcessCgroup? = nil
    ) async -> StopResult {
        // Process group ids come from our own spawns and from state-file records checked against
        // /proc before use; 0 and 1 would signal the agent or init.
        // invariant: never a pgid taken from input unchecked.
        precondition(pgid > 1, "refusing to signal process group \(pgid)")
        let now = ContinuousClock.now
        let deadline = now.advanced(by: max(grace, .zero))
        let (operation, owner) = operations.withLock { operations -> (Operation, Bool) in
            if let existing = operations[pgid] {
                existing.shrink(to: deadline)
                return (existing, false)
            }
            let operation = Operation(pgid: pgid, leader: leader, cgroup: cgroup, start: now, deadline: deadline, reactor: reactor)
            operations[pgid] = operation
            return (operation, true)
        }
        guard owner else { return await operation.result.wait() }
        let result = await run(operation, leaderExit: leaderExit, signal: signal)
        operations.withLock { _ = $0.removeValue(forKey: pgid) }
        operation.result.fulfill(result)
        return result
    }

    /// True while at least one process (zombies included) is in the group.
    public static func groupExists(_ pgid: Int32) -> Bool {
        Glibc.kill(-pgid, 0) == 0 || errno == EPERM
    }

    /// The group has a process (zombies included), or the cgroup a member.
    private static func groupOrCgroupExists(_ op: Operation) -> Bool {
        groupExists(op.pgid) || op.cgroup.map { !$0.isEmpty } ?? false
    }

    private func run(_ op: Operation, leaderExit: ExitFuture?, signal: Int32) async -> StopResult {
        let clock = ContinuousClock()
        let pgid = op.pgid
        let leader = op.leader
        leaderExit?.onFulfill { _ in op.wakeup.signal() }

        func leaderGone() -> Bool {
            if let leaderExit { return leaderExit.value != nil }
            if let leader { return leader.hasExited }
            return true
        }
        func result(_ outcome: StopOutcome, empty: Bool) -> StopResult {
            StopResult(outcome: outcome, elapsed: op.start.duration(to: clock.now), leaderExit: leaderExit?.value, groupEmpty: empty)
        }

        if leaderGone() && !Self.groupOrCgroupExists(op) {
            op.retireTimer()
            return result(.alreadyGone, empty: true)
        }

        let groupGone = Glibc.kill(-pgid, signal) != 0 && errno == ESRCH
        if let cgroup = op.cgroup {
            // Members that left the group (setsid, a double fork; the leader too if it did),
            // each once: the group's members got it from the kill above.
            cgroup.signalAll(signal, exceptGroup: pgid)
        } else if groupGone {
            // The leader left its group (setpgid/setsid): reach it directly.
            leader?.sendSignal(signal)
        }
        // The grace deadline is a reactor timer: it SIGKILLs on time whatever the cooperative
        // pool is doing.
        op.armTimer()

        // Grace period: leader exit is event-driven; group emptiness is polled afterwards.
        let goneInGrace = await waitUntilGone(op, leaderGone: leaderGone, stopWhenKilled: true) { op.currentDeadline }
        op.graceOver.store(true, ordering: .releasing)
        op.retireTimer()
        if goneInGrace && !op.killed.load(ordering: .acquiring) {
            return result(.exitedInGrace, empty: true)
        }

        op.kill()
        let killDeadline = clock.now.advanced(by: postKillTimeout)
        let empty = await waitUntilGone(op, leaderGone: leaderGone, stopWhenKilled: false) { killDeadline }
        return result(.killedAfterGrace, empty: empty)
    }

    /// Waits until the leader exited and the group is empty (true), or the deadline passed or
    /// (with `stopWhenKilled`) the grace timer killed the group (false).
    private func waitUntilGone(
        _ op: Operation,
        leaderGone: () -> Bool,
        stopWhenKilled: Bool,
        deadline: () -> ContinuousClock.Instant
    ) async -> Bool {
        let clock = ContinuousClock()
        func interrupted() -> Bool {
            (stopWhenKilled && op.killed.load(ordering: .acquiring)) || clock.now >= deadline()
        }
        while !leaderGone() {
            if interrupted() { return false }
            await op.wakeup.wait(until: deadline())
        }
        var backoff = Duration.microseconds(250)
        while Self.groupOrCgroupExists(op) {
            if interrupted() { return false }
            await op.wakeup.wait(until: min(deadline(), clock.now.advanced(by: backoff)))
            backoff = min(backoff * 2, .milliseconds(10))
        }
        return true
    }
}
