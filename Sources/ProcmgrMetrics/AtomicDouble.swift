import Synchronization

/// Lock-free floating-point accumulation on the bit pattern of a `Double`
/// stored in an `Atomic<UInt64>` (the client_golang technique): there is no
/// atomic float add in hardware, so we CAS the bits until our add wins.
extension Atomic where Value == UInt64 {
    /// Adds `delta` to the `Double` whose bit pattern this atomic holds.
    @inline(__always)
    func addDouble(_ delta: Double) {
        var old = load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + delta).bitPattern
            let (exchanged, current) = weakCompareExchange(
                expected: old, desired: new, ordering: .relaxed)
            if exchanged { return }
            old = current
        }
    }

    /// The `Double` whose bit pattern this atomic holds.
    @inline(__always)
    func loadDouble() -> Double {
        Double(bitPattern: load(ordering: .relaxed))
    }
}
