/// The immutable bucket layout shared by every series of one histogram family.
///
/// The bounds are copied into a raw buffer once so `observe` searches plain
/// memory (no array bounds checks or retains on the hot path), and the
/// `le="…"} ` fragments are rendered once so exposition only copies bytes.
final class BucketLayout: @unchecked Sendable {  // immutable after init; the buffer is freed in deinit only
    /// The finite upper bounds as registered (`+Inf` excluded).
    let upperBounds: [Double]
    /// Number of finite bounds; series hold `finiteCount + 1` counters.
    let finiteCount: Int
    /// `le="<bound>"} ` for each finite bound, then `le="+Inf"} `.
    let leFragments: [[UInt8]]
    private let bounds: UnsafeMutablePointer<Double>

    init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        self.finiteCount = upperBounds.count
        bounds = .allocate(capacity: max(upperBounds.count, 1))
        bounds.initialize(from: upperBounds, count: upperBounds.count)
        var fragments: [[UInt8]] = []
        fragments.reserveCapacity(upperBounds.count + 1)
        for bound in upperBounds + [Double.infinity] {
            var fragment = Array("le=\"".utf8)
            GoFloat.append(bound, to: &fragment)
            fragment.append(contentsOf: "\"} ".utf8)
            fragments.append(fragment)
        }
        leFragments = fragments
    }

    deinit {
        bounds.deinitialize(count: finiteCount)
        bounds.deallocate()
    }

    /// Index of the first bucket whose bound is `>= value` (`finiteCount` is `+Inf`).
    @inline(__always)
    func bucketIndex(for value: Double) -> Int {
        var low = 0
        var high = finiteCount
        while low < high {
            let mid = (low &+ high) &>> 1
            if bounds[mid] < value {
                low = mid &+ 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// Validates registration-time buckets: finite and strictly increasing.
    static func validate(_ buckets: [Double]) throws(MetricsRegistryError) {
        for (index, bound) in buckets.enumerated() {
            guard bound.isFinite else {
                throw MetricsRegistryError(
                    code: .invalidBuckets,
                    message: "histogram bucket bounds must be finite (+Inf is implicit), got \(bound)")
            }
            if index > 0, !(buckets[index - 1] < bound) {
                throw MetricsRegistryError(
                    code: .invalidBuckets,
                    message: "histogram bucket bounds must be strictly increasing, got \(buckets[index - 1]) then \(bound)")
            }
        }
    }
}
