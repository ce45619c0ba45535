import CoreMetrics

// The handler objects SwiftMetricsBackend hands to swift-metrics. Each keeps
// its family and label values so `destroy*` can remove exactly its series;
// handlers made after a conflict have no family and are simply not exported.

/// Backs swift-metrics `Counter` and `FloatingPointCounter` with one of our counters.
final class CounterBackendHandler: CounterHandler, FloatingPointCounterHandler, Sendable {
    let counter: Counter
    private let family: CounterFamily?
    private let values: [String]

    init(counter: Counter, family: CounterFamily?, values: [String]) {
        self.counter = counter
        self.family = family
        self.values = values
    }

    func increment(by amount: Int64) {
        counter.increment(by: Int(truncatingIfNeeded: amount))
    }

    func increment(by amount: Double) {
        counter.increment(by: amount)
    }

    func reset() {
        counter.setTotal(0)
    }

    func unexport() {
        family?.remove(values)
    }
}

/// Backs swift-metrics meters and non-aggregating recorders (gauges).
final class GaugeBackendHandler: MeterHandler, RecorderHandler, Sendable {
    let gauge: Gauge
    private let family: GaugeFamily?
    private let values: [String]

    init(gauge: Gauge, family: GaugeFamily?, values: [String]) {
        self.gauge = gauge
        self.family = family
        self.values = values
    }

    func set(_ value: Int64) { gauge.set(Double(value)) }
    func set(_ value: Double) { gauge.set(value) }
    func increment(by amount: Double) { gauge.increment(by: amount) }
    func decrement(by amount: Double) { gauge.decrement(by: amount) }
    func record(_ value: Int64) { gauge.set(Double(value)) }
    func record(_ value: Double) { gauge.set(value) }

    func unexport() {
        family?.remove(values)
    }
}

/// Backs swift-metrics aggregating recorders and timers (histograms).
final class HistogramBackendHandler: RecorderHandler, TimerHandler, Sendable {
    let histogram: Histogram
    private let family: HistogramFamily?
    private let values: [String]

    init(histogram: Histogram, family: HistogramFamily?, values: [String]) {
        self.histogram = histogram
        self.family = family
        self.values = values
    }

    func record(_ value: Int64) { histogram.observe(Double(value)) }
    func record(_ value: Double) { histogram.observe(value) }
    func recordNanoseconds(_ duration: Int64) { histogram.observe(Double(duration) / 1e9) }

    func unexport() {
        family?.remove(values)
    }
}
