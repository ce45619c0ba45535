/// Restart back-off: the delay before restart *n* is
/// `min(initial × multiplierⁿ⁻¹, max)`, spread by ± `jitter` (a fraction);
/// after `resetAfter` of continuous running the sequence starts over.
public struct BackoffSpec: Sendable, Hashable {
    public var initial: Duration
    public var max: Duration
    public var multiplier: Double
    /// Fraction in 0…1 by which each delay is randomly varied.
    public var jitter: Double
    public var resetAfter: Duration

    public init(
        initial: Duration = ConfigDefaults.backoffInitial,
        max: Duration = ConfigDefaults.backoffMax,
        multiplier: Double = ConfigDefaults.backoffMultiplier,
        jitter: Double = ConfigDefaults.backoffJitter,
        resetAfter: Duration = ConfigDefaults.backoffResetAfter
    ) {
        self.initial = initial
        self.max = max
        self.multiplier = multiplier
        self.jitter = jitter
        self.resetAfter = resetAfter
    }

    /// All defaults: 1s doubling up to 60s, ±25 % jitter, reset after 60s.
    public static let `default` = BackoffSpec()
}
