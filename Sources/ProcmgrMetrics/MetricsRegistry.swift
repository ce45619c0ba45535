import Synchronization
import ProcmgrSupport

/// Holds metric families and renders them in the Prometheus text format 0.0.4.
///
/// Written instead of using swift-prometheus so the output is correct for any
/// label value (escaping), deterministic (families by name, series by label
/// values, byte order), never crashes on misuse, and is cheap to scrape:
/// series bytes are pre-rendered, orders are cached, handles are lock-free.
public final class MetricsRegistry: Sendable {
    private let onMisuse: MisuseReporter?
    private let state = LockedState(State())
    /// Size of the previous exposition, to reserve the buffer in one go.
    private let lastExpositionSize = Atomic<Int>(0)

    private struct State {
        var families: [String: any RegisteredFamily] = [:]
        var sorted: [any RegisteredFamily]? = []
        var collectors: [@Sendable () -> Void] = []
    }

    /// - Parameter onMisuse: receives misuse that cannot throw (wrong label
    ///   arity, negative counter increments, NaN observations, swift-metrics
    ///   conflicts) instead of the process crashing. `nil` ignores it.
    public init(onMisuse: (@Sendable (MetricsRegistryError) -> Void)? = nil) {
        self.onMisuse = onMisuse
    }

    // MARK: Registration

    /// Registers (or returns the already registered, identically shaped) counter family.
    public func counterFamily(
        name: String, help: String, labelNames: [String] = []
    ) throws(MetricsRegistryError) -> CounterFamily {
        let shape = FamilyShape(kind: .counter, labelNames: labelNames, buckets: [])
        return try register(name: name, shape: shape) {
            CounterFamily(name: name, help: help, labelNames: labelNames, onMisuse: onMisuse)
        }
    }

    /// Registers (or returns the already registered, identically shaped) gauge family.
    public func gaugeFamily(
        name: String, help: String, labelNames: [String] = []
    ) throws(MetricsRegistryError) -> GaugeFamily {
        let shape = FamilyShape(kind: .gauge, labelNames: labelNames, buckets: [])
        return try register(name: name, shape: shape) {
            GaugeFamily(name: name, help: help, labelNames: labelNames, onMisuse: onMisuse)
        }
    }

    /// Registers (or returns the already registered, identically shaped) histogram family.
    /// `buckets` must be finite and strictly increasing; `+Inf` is always added.
    public func histogramFamily(
        name: String, help: String, labelNames: [String] = [],
        buckets: [Double] = HistogramBuckets.defaultSeconds
    ) throws(MetricsRegistryError) -> HistogramFamily {
        try BucketLayout.validate(buckets)
        let shape = FamilyShape(kind: .histogram, labelNames: labelNames, buckets: buckets)
        return try register(name: name, shape: shape) {
            HistogramFamily(name: name, help: help, labelNames: labelNames, buckets: buckets, onMisuse: onMisuse)
        }
    }

    /// The single series of an unlabelled counter family.
    public func counter(name: String, help: String) throws(MetricsRegistryError) -> Counter {
        try counterFamily(name: name, help: help).labels([])
    }

    /// The single series of an unlabelled gauge family.
    public func gauge(name: String, help: String) throws(MetricsRegistryError) -> Gauge {
        try gaugeFamily(name: name, help: help).labels([])
    }

    /// The single series of an unlabelled histogram family.
    public func histogram(
        name: String, help: String, buckets: [Double] = HistogramBuckets.defaultSeconds
    ) throws(MetricsRegistryError) -> Histogram {
        try histogramFamily(name: name, help: help, buckets: buckets).labels([])
    }

    /// Removes a whole family from the exposition. Handles still held keep
    /// working but are no longer exported; registering the name again creates
    /// a fresh family.
    public func unregister(name: String) {
        let removed: (any RegisteredFamily)? = state.withLock { state in
            guard let family = state.families.removeValue(forKey: name) else { return nil }
            state.sorted = nil
            return family
        }
        _ = removed  // released outside the lock
    }

    /// Adds a closure run at the start of every exposition, outside any
    /// registry lock, to refresh lazily computed values (e.g. gauges read from /proc).
    public func addCollector(_ collect: @escaping @Sendable () -> Void) {
        state.withLock { $0.collectors.append(collect) }
    }

    // MARK: Exposition

    /// Appends the Prometheus text format 0.0.4 rendering of every family.
    public func writeExposition(into buffer: inout [UInt8]) {
        let collectors = state.withLock { $0.collectors }
        for collect in collectors { collect() }
        let families = state.withLock { state in
            if let cached = state.sorted { return cached }
            let sorted = state.families.values.sorted { compareUTF8($0.name, $1.name) < 0 }
            state.sorted = sorted
            return sorted
        }
        let start = buffer.count
        let expected = lastExpositionSize.load(ordering: .relaxed)
        buffer.reserveCapacity(start + expected + expected / 8 + 1024)
        StagingBuffer.with(flushingInto: &buffer) { staging, output in
            for family in families {
                family.write(staging: &staging, output: &output)
            }
        }
        lastExpositionSize.store(buffer.count - start, ordering: .relaxed)
    }

    /// The exposition as a `String`.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        writeExposition(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    // MARK: Internals

    /// Hands misuse to the owner's callback (used by handles and the swift-metrics backend).
    func reportMisuse(_ error: MetricsRegistryError) {
        onMisuse?(error)
    }

    /// Whether a family of this name is registered.
    func isRegistered(name: String) -> Bool {
        state.withLock { $0.families[name] != nil }
    }

    private static let histogramSuffixes = ["_bucket", "_sum", "_count"]

    private func register<Family: RegisteredFamily>(
        name: String, shape: FamilyShape, make: () -> Family
    ) throws(MetricsRegistryError) -> Family {
        try NameValidation.validate(metricName: name)
        try NameValidation.validate(labelNames: shape.labelNames, histogram: shape.kind == .histogram, metric: name)
        return try state.withLock { (state) throws(MetricsRegistryError) -> Family in
            if let existing = state.families[name] {
                if existing.shape == shape, let same = existing as? Family { return same }
                throw MetricsRegistryError(
                    code: .conflictingRegistration,
                    message: "\(name) is already registered as \(existing.shape.kind.rawValue) with labels "
                        + "\(existing.shape.labelNames)\(existing.shape.kind == .histogram ? " and buckets \(existing.shape.buckets)" : ""); "
                        + "cannot register it as \(shape.kind.rawValue) with labels \(shape.labelNames)"
                        + "\(shape.kind == .histogram ? " and buckets \(shape.buckets)" : "")")
            }
            // A histogram `h` also owns the series names h_bucket, h_sum, h_count.
            for suffix in Self.histogramSuffixes {
                if shape.kind == .histogram, state.families[name + suffix] != nil {
                    throw MetricsRegistryError(
                        code: .conflictingRegistration,
                        message: "histogram \(name) would emit \(name + suffix), which is already registered")
                }
                if name.hasSuffix(suffix),
                    let base = state.families[String(name.dropLast(suffix.count))], base.shape.kind == .histogram
                {
                    throw MetricsRegistryError(
                        code: .conflictingRegistration,
                        message: "\(name) collides with the \(suffix) series of histogram \(base.name)")
                }
            }
            let family = make()
            state.families[name] = family
            state.sorted = nil
            return family
        }
    }
}
