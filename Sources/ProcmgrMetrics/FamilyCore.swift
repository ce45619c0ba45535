import Synchronization
import ProcmgrSupport

/// The series table shared by the three family types.
///
/// `labels(...)` and `remove(...)` take the mutex (they are not the hot path);
/// handles, once obtained, never touch it. The exposition order is maintained
/// as series come and go (new ones are merged in at the next scrape), so a
/// scrape never re-sorts the whole family.
final class FamilyCore<Series: AnyObject & Sendable>: Sendable {
    let name: String
    let labelNames: [String]
    private let linePrefixed: Bool
    private let makeSeries: @Sendable () -> Series
    private let onMisuse: MisuseReporter?
    /// Handed out on misuse so callers keep working; never exported.
    private let detached: Series
    private let state = LockedState(State())

    private struct State {
        var byKey: [LabelValues: SeriesSlot<Series>] = [:]
        var order = SeriesOrder<Series>()
    }

    /// - Parameter linePrefixed: render `name{…} ` (counters, gauges) rather
    ///   than just `{…}` (histograms).
    init(
        name: String, labelNames: [String], linePrefixed: Bool,
        onMisuse: MisuseReporter?, makeSeries: @escaping @Sendable () -> Series
    ) {
        self.name = name
        self.labelNames = labelNames
        self.linePrefixed = linePrefixed
        self.onMisuse = onMisuse
        self.makeSeries = makeSeries
        self.detached = makeSeries()
        if labelNames.isEmpty {
            _ = series(for: [])  // an unlabelled family always exports its one series
        }
    }

    /// Get-or-create. Wrong arity reports misuse and returns the detached series.
    func series(for values: [String]) -> Series {
        guard values.count == labelNames.count else {
            reportArity(values.count, operation: "labels")
            return detached
        }
        let key = LabelValues(values)
        if let existing = state.withLock({ $0.byKey[key]?.series }) {
            return existing
        }
        // Render and allocate outside the lock; the insert below re-checks.
        let rendered = TextEscaping.seriesPrefix(name: name, names: labelNames, values: values, linePrefixed: linePrefixed)
        let candidate = SeriesSlot(key: key, rendered: rendered, series: makeSeries())
        return state.withLock { state in
            if let raced = state.byKey[key] { return raced.series }
            state.byKey[key] = candidate
            state.order.add(candidate)
            return candidate.series
        }
    }

    func remove(_ values: [String]) {
        guard values.count == labelNames.count else {
            reportArity(values.count, operation: "remove")
            return
        }
        let key = LabelValues(values)
        let removed: SeriesSlot<Series>? = state.withLock { state in
            guard let slot = state.byKey.removeValue(forKey: key) else { return nil }
            state.order.remove(slot)
            return slot
        }
        _ = removed  // released here, outside the lock
    }

    var seriesCount: Int {
        state.withLock { $0.byKey.count }
    }

    /// Series objects still held, exported or removed-but-not-yet-compacted.
    var heldSlotCount: Int {
        state.withLock { $0.order.heldCount }
    }

    /// Calls `body` with each series and its rendered bytes, in exposition
    /// order (label values, byte-wise). The lock is held only to bring the
    /// order up to date and take a (copy-on-write) reference to it.
    @inline(__always)
    func forEachSorted(_ body: (Series, UnsafeBufferPointer<UInt8>) -> Void) {
        let ordered = state.withLock { $0.order.current() }
        ordered.withUnsafeBufferPointer { slots in
            // `ordered` keeps every slot alive; reading them unretained spares
            // a retain/release pair per series.
            slots.withMemoryRebound(to: Unmanaged<SeriesSlot<Series>>.self) { unretained in
                for slot in unretained {
                    slot._withUnsafeGuaranteedRef { slot in
                        slot.rendered.withUnsafeBufferPointer { body(slot.series, $0) }
                    }
                }
            }
        }
    }

    /// Like ``forEachSorted(_:)`` for one-value series (counters, gauges),
    /// but reads the values a chunk at a time before formatting them: the
    /// reads are independent, so with many series the cache misses on the
    /// scattered handles overlap instead of being paid one after another.
    @inline(__always)
    func forEachSortedValue(
        _ value: (Series) -> Double, _ body: (Double, UnsafeBufferPointer<UInt8>) -> Void
    ) {
        let ordered = state.withLock { $0.order.current() }
        let chunk = 32
        withUnsafeTemporaryAllocation(of: Double.self, capacity: chunk) { values in
            ordered.withUnsafeBufferPointer { slots in
                // `ordered` keeps every slot alive; reading them unretained
                // spares a retain/release pair per series.
                slots.withMemoryRebound(to: Unmanaged<SeriesSlot<Series>>.self) { unretained in
                    var start = 0
                    while start < unretained.count {
                        let end = min(start + chunk, unretained.count)
                        for index in start..<end {
                            values[index - start] = unretained[index]._withUnsafeGuaranteedRef { value($0.series) }
                        }
                        for index in start..<end {
                            unretained[index]._withUnsafeGuaranteedRef { slot in
                                slot.rendered.withUnsafeBufferPointer { body(values[index - start], $0) }
                            }
                        }
                        start = end
                    }
                }
            }
        }
    }

    private func reportArity(_ count: Int, operation: String) {
        onMisuse?(MetricsRegistryError(
            code: .labelArityMismatch,
            message: "\(name): \(operation) got \(count) label values for label names \(labelNames)"))
    }
}
