/// The agent-wide answer to running out of descriptors at spawn (`EMFILE`/`ENFILE`): a circuit
/// breaker every spawn passes through, not a backoff per process.
///
/// Why global: descriptors are the agent's, not a process's. When one spawn fails for want of
/// them, every other spawn would fail the same way; with a backoff per process, thousands of
/// processes each retry on their own clock and the agent spends its time failing spawns (seen:
/// 68,000 failures in 15 minutes at 43 % of a core). Here the first `EMFILE` pauses all spawns;
/// when the pause is over exactly one spawn goes first as a probe: if it succeeds, everything
/// resumes at once; if it fails again, the pause doubles (50 ms up to 5 s).
///
/// A value type driven with explicit instants, so its policy is tested without a clock.
struct DescriptorPressure: Sendable, Equatable {
    enum Admission: Equatable {
        /// Spawn now.
        case go
        /// Ask again at this instant (paused, or a probe is in flight).
        case waitUntil(ContinuousClock.Instant)
    }

    /// What a finished spawn reports.
    enum Outcome: Equatable {
        case success
        /// `EMFILE` or `ENFILE`.
        case outOfDescriptors
        /// Any other failure: says nothing about descriptors.
        case otherFailure
    }

    /// What changed, for the log: a pause began, or spawning resumed after one.
    enum Transition: Equatable {
        case paused(for: Duration)
        case resumed
    }

    static let firstPause: Duration = .milliseconds(50)
    static let longestPause: Duration = .seconds(5)
    /// How often a spawn waiting behind an in-flight probe looks again (a spawn takes ~1 ms).
    static let probePoll: Duration = .milliseconds(5)

    private(set) var pausedUntil: ContinuousClock.Instant?
    private(set) var pause: Duration = .zero
    private(set) var probeInFlight = false

    var isPaused: Bool { pausedUntil != nil }

    mutating func admit(now: ContinuousClock.Instant) -> Admission {
        guard let until = pausedUntil else { return .go }
        if now < until { return .waitUntil(until) }
        if probeInFlight { return .waitUntil(now.advanced(by: Self.probePoll)) }
        probeInFlight = true
        return .go
    }

    mutating func finished(_ outcome: Outcome, now: ContinuousClock.Instant) -> Transition? {
        switch outcome {
        case .outOfDescriptors:
            let wasPaused = pausedUntil != nil
            pause = wasPaused ? min(pause * 2, Self.longestPause) : Self.firstPause
            pausedUntil = now.advanced(by: pause)
            probeInFlight = false
            return wasPaused ? nil : .paused(for: pause)
        case .success, .otherFailure:
            // Only the probe (or a spawn admitted before the pause) ends here while paused; any
            // spawn that got descriptors proves there are some again.
            guard pausedUntil != nil else { return nil }
            if outcome == .otherFailure && !probeInFlight { return nil }
            pausedUntil = nil
            pause = .zero
            probeInFlight = false
            return .resumed
        }
    }
}
