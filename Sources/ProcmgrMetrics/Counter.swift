import Synchronization

/// A monotonically increasing value; one series of a ``CounterFamily``.
///
/// Lock-free like client_golang's counter: integral increments go to a
/// `UInt64` (one atomic add, exact), fractional ones are CAS-added to a
/// second atomic holding a `Double`'s bits; ``value`` is their sum.
public final class Counter: Sendable {
    private let whole = Atomic<UInt64>(0)
    private let fraction = Atomic<UInt64>(0)  // bit pattern of a Double; 0 is 0.0
    private let onMisuse: MisuseReporter?

    init(onMisuse: MisuseReporter?) {
        self.onMisuse = onMisuse
    }

    /// Adds one.
    @inline(__always)
    public func increment() {
        whole.wrappingAdd(1, ordering: .relaxed)
    }

    /// Adds `amount`; a negative amount is ignored and reported as misuse.
    @inline(__always)
    public func increment(by amount: Int) {
        guard amount >= 0 else {
            return reject(Double(amount))
        }
        whole.wrappingAdd(UInt64(amount), ordering: .relaxed)
    }

    /// Adds `amount`; negative or NaN is ignored and reported as misuse.
    @inline(__always)
    public func increment(by amount: Double) {
        guard amount >= 0 else {  // also false for NaN
            return reject(amount)
        }
        if let integral = UInt64(exactly: amount) {
            whole.wrappingAdd(integral, ordering: .relaxed)
        } else {
            fraction.addDouble(amount)
        }
    }

    /// The current total.
    public var value: Double {
        Double(whole.load(ordering: .relaxed)) + fraction.loadDouble()
    }

    /// Overwrites the total. Only for collectors that mirror a monotonic total
    /// kept elsewhere (the kernel's CPU time of a process, say) and refresh it
    /// at scrape time; don't mix it with `increment` on the same counter.
    /// Negative or NaN totals are ignored and reported as misuse.
    public func setTotal(_ total: Double) {
        guard total >= 0 else {
            return reject(total)
        }
        if let integral = UInt64(exactly: total) {
            fraction.store(0, ordering: .relaxed)
            whole.store(integral, ordering: .relaxed)
        } else {
            whole.store(0, ordering: .relaxed)
            fraction.store(total.bitPattern, ordering: .relaxed)
        }
    }

    private func reject(_ amount: Double) {
        onMisuse?(MetricsRegistryError(
            code: .invalidValue,
            message: "counter increments must be non-negative numbers, got \(amount)"))
    }
}
