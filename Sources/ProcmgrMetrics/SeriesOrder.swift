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
/// go so that no scrape re-sorts a whole family: additions wait in `pending`
/// and are merged in at the next scrape (binary insertion for a few, sort and
/// merge for a burst); removals are a binary search and an array removal.
struct SeriesOrder<Series: AnyObject & Sendable> {
    private var ordered: [SeriesSlot<Series>] = []
    private var pending: [SeriesSlot<Series>] = []

    mutating func add(_ slot: SeriesSlot<Series>) {
        pending.append(slot)
    }

    mutating func remove(_ slot: SeriesSlot<Series>) {
        if let index = pending.firstIndex(where: { $0 === slot }) {
            pending.remove(at: index)
            return
        }
        let index = insertionIndex(of: slot.sortKey)
        if index < ordered.count, ordered[index] === slot {
            ordered.remove(at: index)
        }
    }

    /// Every series in order (a copy-on-write reference, cheap to hand out).
    mutating func current() -> [SeriesSlot<Series>] {
        mergePending()
        return ordered
    }

    private mutating func mergePending() {
        guard !pending.isEmpty else { return }
        if pending.count <= 16 {
            for slot in pending {
                ordered.insert(slot, at: insertionIndex(of: slot.sortKey))
            }
        } else {
            pending.sort { bytesPrecede($0.sortKey, $1.sortKey) }
            var merged: [SeriesSlot<Series>] = []
            merged.reserveCapacity(ordered.count + pending.count)
            var left = 0
            var right = 0
            while left < ordered.count, right < pending.count {
                if bytesPrecede(pending[right].sortKey, ordered[left].sortKey) {
                    merged.append(pending[right])
                    right += 1
                } else {
                    merged.append(ordered[left])
                    left += 1
                }
            }
            merged.append(contentsOf: ordered[left...])
            merged.append(contentsOf: pending[right...])
            ordered = merged
        }
        pending.removeAll()
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
