/// One exported series: sort key, pre-rendered bytes, live handle. A class so
/// the ordered list is an array of single references: keeping it sorted moves
/// pointers, and walking it costs no per-field reference counting.
final class SeriesSlot<Series: AnyObject & Sendable>: Sendable {
    /// ``LabelValues/sortKey``: exposition order is plain byte order of these.
    let sortKey: [UInt8]
    /// Counters and gauges: `name{a="x"} ` (the whole line up to the value).
    /// Histograms: the label block `{a="x"}` (empty without labels), from which
    /// the `_bucket`, `_sum` and `_count` lines are assembled.
    let rendered: [UInt8]
    let series: Series

    init(sortKey: [UInt8], rendered: [UInt8], series: Series) {
        self.sortKey = sortKey
        self.rendered = rendered
        self.series = series
    }
}

/// A family's series in exposition order, kept up to date as series come and
/// go so that no scrape re-sorts a whole family, and no add or remove costs more
/// than a hash-table operation: additions wait in `pending` and removals of
/// ordered series in `removed` (tombstones); the next scrape drops the
/// tombstones in one pass and merges the additions in (binary insertion for a
/// few, sort and merge for a burst). Thousands of processes churning between two
/// scrapes therefore cost O(n log n) once, not a linear search or an array
/// shift per series.
struct SeriesOrder<Series: AnyObject & Sendable> {
    private var ordered: [SeriesSlot<Series>] = []
    private var pending: [ObjectIdentifier: SeriesSlot<Series>] = [:]
    /// Slots still in `ordered` that were removed. Each is kept alive by
    /// `ordered` until compaction, so its identifier cannot be reused meanwhile.
    private var removed: Set<ObjectIdentifier> = []

    mutating func add(_ slot: SeriesSlot<Series>) {
        pending[ObjectIdentifier(slot)] = slot
    }

    /// Removes a series. Its memory is released at the next scrape, or earlier
    /// once tombstones reach a quarter of the family, so an agent nobody scrapes
    /// still keeps memory bounded under churn (compaction stays amortised O(1)).
    mutating func remove(_ slot: SeriesSlot<Series>) {
        let identifier = ObjectIdentifier(slot)
        guard pending.removeValue(forKey: identifier) == nil else { return }
        removed.insert(identifier)
        if removed.count >= 64, removed.count * 4 >= ordered.count { compact() }
    }

    /// Every series in order (a copy-on-write reference, cheap to hand out).
    mutating func current() -> [SeriesSlot<Series>] {
        compact()
        mergePending()
        return ordered
    }

    /// Number of slots held, exported or tombstoned (for tests of boundedness).
    var heldCount: Int { ordered.count + pending.count }

    private mutating func compact() {
        guard !removed.isEmpty else { return }
        ordered.removeAll { removed.contains(ObjectIdentifier($0)) }
        removed.removeAll(keepingCapacity: true)
    }

    private mutating func mergePending() {
        guard !pending.isEmpty else { return }
        var additions = Array(pending.values)
        pending.removeAll()
        if additions.count <= 16 {
            for slot in additions {
                ordered.insert(slot, at: insertionIndex(of: slot.sortKey))
            }
        } else {
            additions.sort { bytesPrecede($0.sortKey, $1.sortKey) }
            var merged: [SeriesSlot<Series>] = []
            merged.reserveCapacity(ordered.count + additions.count)
            var left = 0
            var right = 0
            while left < ordered.count, right < additions.count {
                if bytesPrecede(additions[right].sortKey, ordered[left].sortKey) {
                    merged.append(additions[right])
                    right += 1
                } else {
                    merged.append(ordered[left])
                    left += 1
                }
            }
            merged.append(contentsOf: ordered[left...])
            merged.append(contentsOf: additions[right...])
            ordered = merged
        }
    }

    /// First index in `ordered` whose key is not before `key`.
    private func insertionIndex(of key: [UInt8]) -> Int {
        var low = 0
        var high = ordered.count
        while low < high {
            let mid = (low + high) / 2
            if bytesPrecede(ordered[mid].sortKey, key) {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }
}
