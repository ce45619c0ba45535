import ProcmgrSupport

/// A clock that moves only when a test says so: the one manual clock of every test target.
///
/// Sleepers are resumed by ``advance(by:)`` exactly when their deadline is reached, so
/// backoff, resync and retention logic can be tested without waiting real time and without
/// sleeping as synchronisation.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Sendable, Hashable, Comparable, CustomStringConvertible {
        /// Time since the clock's origin.
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "t+\(offset)" }
    }

    private struct Sleeper {
        let token: UInt64
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextToken: UInt64 = 0
        /// Tests waiting for a number of sleepers (``waitForSleepers(_:timeout:)``).
        var sleeperWaiters: [(count: Int, waiter: OneShotFlag)] = []
    }

    private let state = LockedState(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Deadlines of the tasks sleeping now, earliest first.
    public var sleeperDeadlines: [Instant] { state.withLock { $0.sleepers.map(\.deadline).sorted() } }

    /// How many tasks sleep on this clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Waits (event-driven, real time) until at least `count` tasks sleep on this clock: the
    /// code under test has reached its next wait. Throws ``PollTimeout`` after `timeout`.
    public func waitForSleepers(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        let flag = OneShotFlag()
        let already = state.withLock { state -> Bool in
            if state.sleepers.count >= count { return true }
            state.sleeperWaiters.append((count, flag))
            return false
        }
        if already { return }
        guard await flag.wait(timeout: timeout) else {
            throw PollTimeout(description: "timed out after \(timeout) waiting for \(count) sleeper(s) on the manual clock; have \(sleeperCount)")
        }
    }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let token = state.withLock { state -> UInt64 in
            state.nextToken += 1
            return state.nextToken
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (outcome, woken) = state.withLock { state -> (Result<Void, any Error>?, [OneShotFlag]) in
                    if Task.isCancelled { return (.failure(CancellationError()), []) }
                    if deadline <= state.now { return (.success(()), []) }
                    state.sleepers.append(Sleeper(token: token, deadline: deadline, continuation: continuation))
                    let count = state.sleepers.count
                    let woken = state.sleeperWaiters.filter { $0.count <= count }.map(\.waiter)
                    state.sleeperWaiters.removeAll { $0.count <= count }
                    return (nil, woken)
                }
                if let outcome { continuation.resume(with: outcome) }
                for flag in woken { flag.raise() }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.token == token }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and resumes every sleeper whose deadline was reached.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time forward to `instant` (no-op if it is in the past).
    public func advance(to instant: Instant) {
        let delta = now.duration(to: instant)
        if delta > .zero { advance(by: delta) }
    }
}
