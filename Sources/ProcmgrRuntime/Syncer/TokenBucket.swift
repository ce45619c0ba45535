/// A token bucket: up to `capacity` events at once, then `refillPerSecond` on average.
/// A value type with no clock of its own (every call carries `now`), so it is tested with a
/// manual clock.
struct TokenBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    let capacity: Double
    let refillPerSecond: Double
    private(set) var tokens: Double
    private var refilledAt: Instant

    /// Starts full.
    init(capacity: Int, refillPerSecond: Double, now: Instant) {
        self.capacity = Double(max(1, capacity))
        self.refillPerSecond = max(0, refillPerSecond)
        self.tokens = self.capacity
        self.refilledAt = now
    }

    /// Takes one token if there is one.
    mutating func take(now: Instant) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    private mutating func refill(now: Instant) {
        guard refilledAt < now else { return }
        let (seconds, attoseconds) = refilledAt.duration(to: now).components
        let elapsed = Double(seconds) + Double(attoseconds) / 1e18
        tokens = min(capacity, tokens + elapsed * refillPerSecond)
        refilledAt = now
    }
}
