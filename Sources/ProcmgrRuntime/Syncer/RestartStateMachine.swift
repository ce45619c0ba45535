import ProcmgrEngine

/// The restart policy of one managed process, across restarts of its program: events in,
/// actions out, no I/O and no clock of its own (every event carries `now`), so it is tested
/// synchronously with a manual clock and ``ProcessRuntime`` only performs what it returns.
///
/// The rules it encodes (kubelet's restartPolicy and CrashLoopBackOff, applied to one program):
/// - An exit restarts under `restart: always`, and under `on-failure` unless the status was 0;
///   otherwise the worker ends for good.
/// - A failed check (liveness or startup probe, heartbeat, watchdog) is a failure like a crash: it
///   backs off, and `restart: never` ends the worker. Config, manual and dependency restarts are the
///   operator's own request (a dependency's `restart: true` asks for it) and always start the
///   program again, at once.
/// - Every failure (exit or failed check) counts into the backoff; a program that ran well for
///   `reset_after` (since its start, or with a probe since it last turned healthy) starts a new
///   series, whether or not a resync happened to reset the count meanwhile.
///
/// Requests (manual, config change, failed check) arriving while a program runs are recorded,
/// the first one winning, and acted on by the next ``Event/tick``: the runtime calls
/// ``handle(_:rules:now:random:)`` from its one sync at a time, so a request never races a stop.
struct RestartStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What the policy reads from the process's desired config.
    struct Rules: Sendable, Hashable {
        var policy: RestartPolicy
        var backoff: RestartBackoff

        init(policy: RestartPolicy, backoff: RestartBackoff) {
            self.policy = policy
            self.backoff = backoff
        }
    }

    enum Event: Sendable, Hashable {
        /// The running program exited on its own with this status.
        case exited(ProcessExitStatus)
        /// The kernel's OOM killer ended the running program (its cgroup's memory limit): a
        /// failure like a crash under every policy but `never`, restarted with reason `oom`.
        case oomKilled
        /// A check of the running program failed.
        case checkFailed(CheckKind)
        /// The desired config differs from the one the program runs with.
        case configChanged
        /// The operator asked for a restart.
        case manual
        /// A dependency (`depends_on.X.restart: true`) started a new program.
        case dependencyRestarted
        /// A sync with nothing new: act on a recorded request, start a program, or settle.
        case tick
    }

    /// When the runtime wants to be looked at again.
    enum Resync: Sendable, Hashable {
        /// A request was recorded: sync at once.
        case now
        /// After exactly this delay (a backoff ending, `reset_after` reached).
        case after(Duration)
        /// Nothing is due until the probe says healthy (it asks for a sync then).
        case whenHealthy
        /// Nothing is due: only the rare safety resync.
        case idle
    }

    enum Action: Sendable, Hashable {
        /// Start the program now.
        case start
        /// Stop the running program (what is left of its group), then start it again `delay`
        /// after the stop ended.
        case stopAndRestart(reason: RestartReason, delay: Duration)
        /// Stop what is left and end the worker: the policy does not start it again.
        case stopForGood(TerminationReason)
        case resync(Resync)

        /// It ends or restarts a program the OOM killer killed.
        var followsOOMKill: Bool {
            switch self {
            case .stopAndRestart(reason: .oom, _), .stopForGood(.oomKilledRestartNever): true
            default: false
            }
        }
    }

    /// The program now running.
    struct Run: Sendable, Hashable {
        var startedAt: Instant
        /// It has a liveness probe: it counts as running well only while healthy.
        var probed: Bool
        /// When its probe last turned healthy; `nil` before.
        var healthySince: Instant?

        /// Since when it counts as running well, for the backoff reset.
        var stableSince: Instant? { probed ? healthySince : startedAt }
    }

    private(set) var run: Run?
    /// A restart asked for and not yet performed (the first request wins).
    private(set) var pending: RestartReason?
    /// Failures since the program last ran well for `reset_after`; drives the backoff.
    private(set) var failuresInRow = 0
    private(set) var restarts = 0
    /// Not before this may the program be started again.
    private(set) var nextStartAt: Instant?
    /// The backoff delays chosen after the most recent failures (at most 16), newest last.
    private(set) var restartDelays: [Duration] = []
    /// The delay of a decided restart, counted from the end of the stop.
    private var delayAfterStop: Duration?

    init() {}

    // MARK: Facts the runtime reports

    /// A program now runs (spawned or adopted).
    mutating func started(at now: Instant, probed: Bool) {
        run = Run(startedAt: now, probed: probed)
        pending = nil
        nextStartAt = nil
        delayAfterStop = nil
    }

    /// The running program's probe turned healthy.
    mutating func becameHealthy(at now: Instant) {
        run?.healthySince = now
    }

    /// The program's group is gone (after a decided stop, or a termination): a decided restart's
    /// delay starts counting now.
    mutating func stopped(at now: Instant) {
        run = nil
        pending = nil
        if let delay = delayAfterStop, delay > .zero {
            nextStartAt = now.advanced(by: delay)
        } else {
            nextStartAt = nil
        }
        delayAfterStop = nil
    }

    // MARK: Decisions

    mutating func handle(_ event: Event, rules: Rules, now: Instant, random: Double) -> Action {
        switch event {
        case .manual: return request(.manual)
        case .dependencyRestarted: return request(.dependency)
        case .configChanged: return request(.config)
        case .checkFailed(let kind): return request(kind.restartReason)
        case .exited(let status): return exited(status, rules: rules, now: now, random: random)
        case .oomKilled:
            if rules.policy == .never { return .stopForGood(.oomKilledRestartNever) }
            return restart(.oom, failure: true, rules: rules, now: now, random: random)
        case .tick:
            guard run != nil else {
                if let nextStartAt, now < nextStartAt { return .resync(.after(now.duration(to: nextStartAt))) }
                return .start
            }
            if let pending { return perform(pending, rules: rules, now: now, random: random) }
            return settle(rules: rules, now: now)
        }
    }

    private mutating func request(_ reason: RestartReason) -> Action {
        guard run != nil else { return .resync(.idle) }
        if pending == nil { pending = reason }
        return .resync(.now)
    }

    private mutating func exited(_ status: ProcessExitStatus, rules: Rules, now: Instant, random: Double) -> Action {
        switch rules.policy {
        case .never:
            return .stopForGood(.exitedRestartNever)
        case .onFailure where status.isSuccess:
            return .stopForGood(.exitedCleanly)
        case .always, .onFailure:
            return restart(.exit, failure: true, rules: rules, now: now, random: random)
        }
    }

    private mutating func perform(_ reason: RestartReason, rules: Rules, now: Instant, random: Double) -> Action {
        switch reason {
        case .liveness: return checkFailed(.liveness, rules: rules, now: now, random: random)
        case .startup: return checkFailed(.startup, rules: rules, now: now, random: random)
        case .heartbeat: return checkFailed(.heartbeat, rules: rules, now: now, random: random)
        case .watchdog: return checkFailed(.watchdog, rules: rules, now: now, random: random)
        case .config, .manual, .dependency, .exit, .oom:
            return restart(reason, failure: false, rules: rules, now: now, random: random)
        }
    }

    /// A failed check is a failure like a crash; `restart: never` ends the worker.
    private mutating func checkFailed(_ kind: CheckKind, rules: Rules, now: Instant, random: Double) -> Action {
        if rules.policy == .never { return .stopForGood(.checkFailed(kind)) }
        return restart(kind.restartReason, failure: true, rules: rules, now: now, random: random)
    }

    private mutating func restart(_ reason: RestartReason, failure: Bool, rules: Rules, now: Instant, random: Double) -> Action {
        restarts += 1
        guard failure else {
            delayAfterStop = .zero
            return .stopAndRestart(reason: reason, delay: .zero)
        }
        if let stableSince = run?.stableSince, stableSince.duration(to: now) >= rules.backoff.resetAfter {
            failuresInRow = 0
        }
        failuresInRow += 1
        let delay = rules.backoff.delays.delay(afterFailures: failuresInRow, random: random)
        restartDelays = Array((restartDelays + [delay]).suffix(16))
        delayAfterStop = delay
        return .stopAndRestart(reason: reason, delay: delay)
    }

    /// The program runs with nothing asked: forget old failures once it ran well long enough,
    /// and ask to be looked at again exactly then.
    private mutating func settle(rules: Rules, now: Instant) -> Action {
        guard failuresInRow > 0 else { return .resync(.idle) }
        guard let stableSince = run?.stableSince else { return .resync(.whenHealthy) }
        let ran = stableSince.duration(to: now)
        if ran >= rules.backoff.resetAfter {
            failuresInRow = 0
            return .resync(.idle)
        }
        return .resync(.after(rules.backoff.resetAfter - ran))
    }
}

extension RestartStateMachine.Rules {
    init(_ config: ManagedProcess) {
        self.init(policy: config.restart, backoff: config.backoff)
    }
}
