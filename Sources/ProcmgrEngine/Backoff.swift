/// Exponential backoff with a cap and symmetric jitter.
///
/// The delay for the n-th consecutive failure (n ≥ 1) is
/// `min(maximum, initial × multiplier^(n-1))`, then spread by `± jitter` of itself.
/// The cap applies *before* the jitter so that many processes failing at the cap still spread out
/// instead of all retrying on the same tick.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Fraction in `0...1`: a delay `d` becomes a value in `d × (1 - jitter) ... d × (1 + jitter)`.
    public var jitter: Double

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60), multiplier: Double = 2, jitter: Double = 0.25) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = max(1, multiplier)
        self.jitter = min(1, max(0, jitter))
    }

    /// The delay before the next attempt after `failures` consecutive failures.
    /// - Parameter random: a value in `0..<1`; injected so tests can pin the jitter.
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        let base = baseDelay(afterFailures: failures)
        let spread = 1 + jitter * (2 * random - 1)
        return base * spread
    }

    /// The un-jittered delay after `failures` consecutive failures.
    public func baseDelay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let initialSeconds = initial.seconds
        let maximumSeconds = maximum.seconds
        var seconds = initialSeconds
        var step = 1
        while step < failures, seconds < maximumSeconds {
            seconds *= multiplier
            step += 1
        }
        return .seconds(min(seconds, maximumSeconds))
    }
}

extension Duration {
    /// The duration as floating-point seconds (for metrics and arithmetic on jitter).
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
