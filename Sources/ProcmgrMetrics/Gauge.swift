import Synchronization

/// A value that can go up and down; one series of a ``GaugeFamily``.
///
/// The `Double` lives as its bit pattern in one `Atomic<UInt64>`: `set` is a
/// plain store, increments are a CAS loop. No locks.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0)  // bit pattern of a Double; 0 is 0.0

    init() {}

    /// Replaces the value.
    @inline(__always)
    public func set(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    /// Adds `amount` (default 1).
    @inline(__always)
    public func increment(by amount: Double = 1) {
        bits.addDouble(amount)
    }

    /// Subtracts `amount` (default 1).
    @inline(__always)
    public func decrement(by amount: Double = 1) {
        bits.addDouble(-amount)
    }

    /// The current value.
    public var value: Double {
        bits.loadDouble()
    }
}
