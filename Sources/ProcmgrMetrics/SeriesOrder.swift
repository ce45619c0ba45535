/// One exported series: label values, pre-rendered bytes, live handle. A class so
/// the ordered list is an array of single references: keeping it sorted moves
/// pointers, and walking it costs no per-field reference counting.
///
/// `@unchecked Sendable` for `removed` alone: it is only read and written under
/// the family's lock (scrapes read the other, immutable fields without it).
final class SeriesSlot<Series: AnyObject & Sendable>: @unchecked Sendable {
    /// The series' identity, also its exposition order (``labelValuesPrecede(_:_:)``);
    /// it shares its storage with the family's key, so it costs no bytes of its own.
    let key: LabelValues
    /// Counters and gauges: `name{a="x"} ` (the whole line up to the value).
    /// Histograms: the label block `{a="x"}` (empty without labels), from which
    /// the `_bucket`, `_sum` and `_count` lines are assembled.
    let rendered: [UInt8]
    let series: Series
    /// Removed from the family, awaiting compaction (a tombstone).
    var removed = false

    init(key: LabelValues, rendered: [UInt8], series: Series) {
        self.key = key
        self.rendered = rendered
        self.series = series
    }
}

/// A family's series in exposition order, kept up to date as series come and
/// go so that no scrape re-sorts a whole family, and no add or remove costs more
/// than an array append or a flag: additions wait in `pending`, removals mark
/// the slot (a tombstone, wherever it is); the next scrape drops the tombstones
/// in one pass and merges the additions in (binary insertion for a few, sort and
/// merge for a burst). Thousands of processes churning between two scrapes
/// therefore cost O(n log n) once, not a linear search, an array shift or a
/// hash-table operation per series.
struct SeriesOrder<Series: AnyObject & Sendable> {
    private var ordered: [SeriesSlot<Series>] = []
    private var pending: [SeriesSlot<Series>] = []
    /// Tombstones in `ordered` and `pending`.
    private var removedCount = 0

    mutating func add(_ slot: SeriesSlot<Series>) {
        pending.append(slot)
    }

    /// Removes a series (each slot at most once). Its memory is released at the
    /// next scrape, or earlier once tombstones reach a quarter of the slots held,
    /// so an agent nobody scrapes still keeps memory bounded under churn
    /// (compaction stays amortised O(1)).
    mutating func remove(_ slot: SeriesSlot<Series>) {
        slot.removed = true
        removedCount += 1
        if removedCount >= 64, removedCount * 4 >= ordered.count + pending.count { compact() }
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
        guard removedCount > 0 else { return }
        ordered.removeAll { $0.removed }
        pending.removeAll { $0.removed }
        removedCount = 0
    }

    private mutating func mergePending() {
        guard !pending.isEmpty else { return }
        var additions = pending
        pending.removeAll()
        if additions.count <= 16 {
            for slot in additions {
                ordered.insert(slot, at: insertionIndex(of: slot.key))
            }
        } else {
            additions.sort { labelValuesPrecede($0.key, $1.key) }
            var merged: [SeriesSlot<Series>] = []
            merged.reserveCapacity(ordered.count + additions.count)
            var left = 0
            var right = 0
            while left < ordered.count, right < additions.count {
                if labelValuesPrecede(additions[right].key, ordered[left].key) {
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
    private func insertionIndex(of key: LabelValues) -> Int {
        var low = 0
        var high = ordered.count
        while low < high {
            let mid = (low + high) / 2
            if labelValuesPrecede(ordered[mid].key, key) {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }
}
