import Glibc
import ProcmgrSupport

/// When the background resource sampler runs a round: a value type, times in, a decision out.
///
/// Why paced at all: reading a program costs ~17 µs of CPU (its `/proc/PID/stat` and children
/// list, more for a bigger group), so sampling 10,000 programs at every 15 s scrape would alone
/// cost ~1 % of a core, ten times the agent's idle goal (≤ 0.1 % scraped, ≤ 0.05 % unscraped).
/// So the sampler
/// - runs only while someone scrapes: a scrape marks samples wanted, and without a scrape for
///   ``idleAfter`` it sleeps until the next one (which then serves the old samples, or none, and
///   `procmgr_child_resource_sample_age_seconds` says how old);
/// - runs a round at most every ``minimumPeriod``;
/// - and keeps its own CPU within ``cpuBudget`` (a fraction of one core): a round that cost `c`
///   of CPU is followed by the next one `c / budget` after it started. With the default 0.03 %:
///   100 programs × ~17 µs ≈ 1.7 ms → every 10 s (the minimum, 5.7 s by budget); 1,000 ≈ 17 ms →
///   every ~57 s; 10,000 ≈ 170 ms → every ~9.5 minutes.
///
/// Generic over the instant only so tests can drive it with a manual clock.
public struct ResourceSamplingPacing: Sendable, Hashable {
    /// The shortest time from the start of one round to the start of the next.
    public var minimumPeriod: Duration
    /// The sampler's average CPU, as a fraction of one core (0.0003 = 0.03 %).
    public var cpuBudget: Double
    /// Without a scrape for this long, the sampler stops until the next scrape.
    public var idleAfter: Duration
    /// Programs sampled between two yields of the sampler's task, so a long round does not hold
    /// a thread of the cooperative pool for its whole duration.
    public var batchSize: Int

    public init(minimumPeriod: Duration = .seconds(10), cpuBudget: Double = 0.0003, idleAfter: Duration = .seconds(120), batchSize: Int = 64) {
        self.minimumPeriod = minimumPeriod
        self.cpuBudget = cpuBudget
        self.idleAfter = idleAfter
        self.batchSize = max(1, batchSize)
    }

    /// What the sampler does now.
    public enum Decision<Instant: Hashable & Sendable>: Sendable, Hashable {
        /// Run a round.
        case sample
        /// Nothing until then (then decide again).
        case wait(until: Instant)
        /// Nobody scrapes: sleep until a scrape wakes the sampler.
        case idle
    }

    /// The time from the start of a round that cost `cost` of CPU to the start of the next:
    /// `max(minimumPeriod, cost / cpuBudget)`.
    public func period(afterRoundCosting cost: Duration) -> Duration {
        guard cpuBudget > 0 else { return minimumPeriod }
        return max(minimumPeriod, cost / cpuBudget)
    }

    /// `lastScrape`: the latest scrape (nil: none yet); `lastRound`: when the latest round started
    /// and what CPU it cost (nil: none yet).
    public func decide<Instant: InstantProtocol>(
        now: Instant, lastScrape: Instant?, lastRound: (start: Instant, cost: Duration)?
    ) -> Decision<Instant> where Instant.Duration == Duration {
        guard let lastScrape, lastScrape.duration(to: now) < idleAfter else { return .idle }
        guard let lastRound else { return .sample }
        let next = lastRound.start.advanced(by: period(afterRoundCosting: lastRound.cost))
        return now >= next ? .sample : .wait(until: next)
    }
}

/// Runs resource sampling rounds off the scrape path, paced by ``ResourceSamplingPacing``; a
/// scrape only calls ``scraped(at:)`` (a lock and, after a pause, a wake-up) and reads the cache.
final class ResourceSampler: Sendable {
    typealias Instant = ContinuousClock.Instant

    struct Round: Sendable {
        var start: Instant
        /// The sampler thread's CPU over the round.
        var cost: Duration
        var programs: Int
    }

    private struct State {
        var lastScrape: Instant?
        var lastRound: Round?
        /// Decided `idle`: the next scrape must wake it.
        var asleep = false
        var rounds = 0
    }

    let pacing: ResourceSamplingPacing
    private let state = LockedState(State())
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(pacing: ResourceSamplingPacing) {
        self.pacing = pacing
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The latest finished round (nil before the first).
    var lastRound: Round? { state.withLock { $0.lastRound } }
    /// Rounds finished so far.
    var rounds: Int { state.withLock { $0.rounds } }
    /// Sleeping until a scrape wakes it (nobody scraped for `idleAfter`, or ever).
    var isAsleep: Bool { state.withLock { $0.asleep } }

    /// A scrape happened: samples are wanted. Wakes a sleeping sampler.
    func scraped(at now: Instant) {
        let asleep = state.withLock { state -> Bool in
            state.lastScrape = now
            defer { state.asleep = false }
            return state.asleep
        }
        if asleep { wake.yield() }
    }

    /// Runs rounds until the task is cancelled. `round` samples every running program and
    /// returns how many it sampled and the CPU that cost its thread(s).
    func run(round: @Sendable () async -> (programs: Int, cost: Duration)) async {
        var wakeUps = wakes.makeAsyncIterator()
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let decision = state.withLock { state in
                let decision = pacing.decide(now: now, lastScrape: state.lastScrape, lastRound: state.lastRound.map { ($0.start, $0.cost) })
                state.asleep = decision == .idle
                return decision
            }
            switch decision {
            case .sample:
                let (programs, cost) = await round()
                state.withLock { state in
                    state.lastRound = Round(start: now, cost: cost, programs: programs)
                    state.rounds += 1
                }
            case .wait(let until):
                do {
                    try await Task.sleep(until: until, clock: .continuous)
                } catch {
                    return
                }
            case .idle:
                // A stale wake-up only makes it decide again.
                guard await wakeUps.next() != nil else { return }
            }
        }
    }

    /// CPU time the calling thread has used: what a batch of reads cost, whatever else the
    /// machine does meanwhile.
    static func threadCPUTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }
}
