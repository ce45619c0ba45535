import Synchronization

/// A distribution of observations in fixed buckets; one series of a ``HistogramFamily``.
///
/// `observe` is lock-free: a binary search over the shared bounds, one atomic
/// add on that bucket's (non-cumulative) count, one CAS-add on the sum. The
/// total count is not stored separately: exposition derives it from the bucket
/// counts it read, so `le="+Inf"` always equals `_count` exactly.
///
/// The sum and the counts live in one 64-byte-aligned block apart from the
/// object's (read-only) fields: contended writes then bounce only that block's
/// lines, never the line every observer reads `layout` and `cells` from.
public final class Histogram: @unchecked Sendable {  // `cells` is only touched atomically and freed in deinit
    let layout: BucketLayout
    /// `[0]`: bit pattern of the sum; `[1 + i]`: count of bucket `i` (the last is `+Inf`).
    private let cells: UnsafeMutablePointer<Atomic<UInt64>>
    private let onMisuse: MisuseReporter?

    init(layout: BucketLayout, onMisuse: MisuseReporter?) {
        self.layout = layout
        self.onMisuse = onMisuse
        let slots = layout.finiteCount + 2
        cells = UnsafeMutableRawPointer
            .allocate(byteCount: slots * MemoryLayout<Atomic<UInt64>>.stride, alignment: 64)
            .bindMemory(to: Atomic<UInt64>.self, capacity: slots)
        for index in 0..<slots {
            (cells + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        cells.deinitialize(count: layout.finiteCount + 2)
        cells.deallocate()
    }

    /// Records one observation. NaN is ignored and reported as misuse (it
    /// would poison `_sum` for the life of the series).
    @inline(__always)
    public func observe(_ value: Double) {
        guard !value.isNaN else {
            onMisuse?(MetricsRegistryError(code: .invalidValue, message: "histogram observations must not be NaN"))
            return
        }
        cells[1 &+ layout.bucketIndex(for: value)].wrappingAdd(1, ordering: .relaxed)
        cells[0].addDouble(value)
    }

    /// Records a duration, in seconds.
    @inline(__always)
    public func observe(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        observe(Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Number of observations so far.
    public var count: UInt64 {
        var total: UInt64 = 0
        for index in 0...layout.finiteCount {
            total &+= bucketCount(index)
        }
        return total
    }

    /// Sum of all observations so far.
    public var sum: Double {
        cells[0].loadDouble()
    }

    /// The non-cumulative count of bucket `index` (`0...layout.finiteCount`).
    @inline(__always)
    func bucketCount(_ index: Int) -> UInt64 {
        cells[1 &+ index].load(ordering: .relaxed)
    }
}
