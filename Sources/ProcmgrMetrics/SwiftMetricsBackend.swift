public import CoreMetrics

/// A swift-metrics (`CoreMetrics`) backend that writes into a ``MetricsRegistry``,
/// so libraries instrumented with swift-metrics appear in the same exposition.
///
/// Mapping: counters and floating-point counters → counter families; meters
/// and non-aggregating recorders → gauge families; aggregating recorders →
/// histogram families with ``HistogramBuckets/defaultSeconds``; timers →
/// histogram families in seconds, named `<label>_seconds` unless the label
/// already ends that way. Labels become valid metric names (invalid characters
/// → `_`), dimensions become label names the same way, sorted by name so the
/// order callers pass them in does not matter.
///
/// swift-metrics cannot fail, so a make that conflicts with what is registered
/// (another type, other dimension names) reports through the registry's
/// `onMisuse` and returns a working handler that is simply not exported.
public struct SwiftMetricsBackend: MetricsFactory {
    public let registry: MetricsRegistry

    public init(registry: MetricsRegistry) {
        self.registry = registry
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let (name, labels) = Self.translate(label: label, dimensions: dimensions)
        do {
            let family = try registry.counterFamily(name: name, help: label, labelNames: labels.names)
            return CounterBackendHandler(counter: family.labels(labels.values), family: family, values: labels.values)
        } catch {
            registry.reportMisuse(error)
            return CounterBackendHandler(counter: Counter(onMisuse: registry.reportMisuse), family: nil, values: [])
        }
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        let (name, labels) = Self.translate(label: label, dimensions: dimensions)
        do {
            let family = try registry.counterFamily(name: name, help: label, labelNames: labels.names)
            return CounterBackendHandler(counter: family.labels(labels.values), family: family, values: labels.values)
        } catch {
            registry.reportMisuse(error)
            return CounterBackendHandler(counter: Counter(onMisuse: registry.reportMisuse), family: nil, values: [])
        }
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        makeGaugeHandler(label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if !aggregate {
            return makeGaugeHandler(label: label, dimensions: dimensions)
        }
        return makeHistogramHandler(name: label, help: label, dimensions: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        makeHistogramHandler(name: label, help: label, dimensions: dimensions, secondsSuffix: true)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        (handler as? CounterBackendHandler)?.unexport()
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        (handler as? CounterBackendHandler)?.unexport()
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        (handler as? GaugeBackendHandler)?.unexport()
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        (handler as? GaugeBackendHandler)?.unexport()
        (handler as? HistogramBackendHandler)?.unexport()
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        (handler as? HistogramBackendHandler)?.unexport()
    }

    // MARK: Helpers

    private func makeGaugeHandler(label: String, dimensions: [(String, String)]) -> GaugeBackendHandler {
        let (name, labels) = Self.translate(label: label, dimensions: dimensions)
        do {
            let family = try registry.gaugeFamily(name: name, help: label, labelNames: labels.names)
            return GaugeBackendHandler(gauge: family.labels(labels.values), family: family, values: labels.values)
        } catch {
            registry.reportMisuse(error)
            return GaugeBackendHandler(gauge: Gauge(), family: nil, values: [])
        }
    }

    private func makeHistogramHandler(
        name label: String, help: String, dimensions: [(String, String)], secondsSuffix: Bool = false
    ) -> HistogramBackendHandler {
        var (name, labels) = Self.translate(label: label, dimensions: dimensions, histogram: true)
        if secondsSuffix, !name.hasSuffix("_seconds") {
            name += "_seconds"
        }
        do {
            let family = try registry.histogramFamily(name: name, help: help, labelNames: labels.names)
            return HistogramBackendHandler(histogram: family.labels(labels.values), family: family, values: labels.values)
        } catch {
            registry.reportMisuse(error)
            let layout = BucketLayout(upperBounds: HistogramBuckets.defaultSeconds)
            return HistogramBackendHandler(
                histogram: Histogram(layout: layout, onMisuse: registry.reportMisuse), family: nil, values: [])
        }
    }

    /// Sanitized metric name plus label names/values sorted by label name.
    static func translate(
        label: String, dimensions: [(String, String)], histogram: Bool = false
    ) -> (name: String, labels: (names: [String], values: [String])) {
        let pairs = dimensions
            .map { (sanitizeLabelName($0.0, histogram: histogram), $0.1) }
            .sorted { compareUTF8($0.0, $1.0) < 0 }
        return (sanitizeMetricName(label), (pairs.map(\.0), pairs.map(\.1)))
    }

    /// Invalid characters become `_`; a leading digit gets a `_` in front;
    /// an empty label becomes `_`.
    static func sanitizeMetricName(_ label: String) -> String {
        sanitize(label, allowColon: true)
    }

    /// Like metric names but without `:`. Names the registry reserves are
    /// renamed rather than rejected: `__x` → `dimension__x`, and `le` on
    /// histograms → `exported_le`.
    static func sanitizeLabelName(_ name: String, histogram: Bool) -> String {
        var sanitized = sanitize(name, allowColon: false)
        if sanitized.hasPrefix("__") {
            sanitized = "dimension" + sanitized  // `__`-prefixed names are reserved for Prometheus itself
        }
        if histogram, sanitized == "le" {
            sanitized = "exported_le"  // Prometheus's own convention for a clashing label
        }
        return sanitized
    }

    private static func sanitize(_ text: String, allowColon: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 1)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let valid = (value >= 0x61 && value <= 0x7A) || (value >= 0x41 && value <= 0x5A)
                || (value >= 0x30 && value <= 0x39) || value == 0x5F || (allowColon && value == 0x3A)
            bytes.append(valid ? UInt8(truncatingIfNeeded: value) : UInt8(ascii: "_"))
        }
        if let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            bytes.insert(UInt8(ascii: "_"), at: 0)
        }
        if bytes.isEmpty { bytes = [UInt8(ascii: "_")] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
