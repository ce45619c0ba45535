/// What the registry needs from any family: identity for conflict checks and
/// a way to render itself.
protocol RegisteredFamily: AnyObject, Sendable {
    var name: String { get }
    var shape: FamilyShape { get }
    /// Appends HELP, TYPE and every series through `staging`.
    func write(staging: inout StagingBuffer, output: inout [UInt8])
}

/// Type, label names and buckets: two registrations with equal shapes are the
/// same family (help text is deliberately not part of it).
struct FamilyShape: Equatable, Sendable {
    enum Kind: String, Sendable { case counter, gauge, histogram }
    let kind: Kind
    let labelNames: [String]
    let buckets: [Double]
}

/// A counter metric and its series, one per distinct set of label values.
public final class CounterFamily: Sendable, RegisteredFamily {
    let core: FamilyCore<Counter>
    let shape: FamilyShape
    private let header: [UInt8]
    var name: String { core.name }

    init(name: String, help: String, labelNames: [String], onMisuse: MisuseReporter?) {
        core = FamilyCore(name: name, labelNames: labelNames, linePrefixed: true, onMisuse: onMisuse) {
            Counter(onMisuse: onMisuse)
        }
        shape = FamilyShape(kind: .counter, labelNames: labelNames, buckets: [])
        header = TextEscaping.header(name: name, help: help, type: "counter")
    }

    /// The series for these label values (in label-name order), created on first use.
    /// Wrong arity reports `labelArityMismatch` and returns a series that is never exported.
    public func labels(_ values: [String]) -> Counter { core.series(for: values) }
    /// Variadic form of ``labels(_:)-([String])``.
    public func labels(_ values: String...) -> Counter { core.series(for: values) }
    /// Drops the series from the exposition and releases it.
    public func remove(_ values: [String]) { core.remove(values) }
    /// Variadic form of ``remove(_:)-([String])``.
    public func remove(_ values: String...) { core.remove(values) }
    /// Number of exported series.
    public var seriesCount: Int { core.seriesCount }
    /// Series objects held, including removed ones awaiting compaction (bounded by a quarter of
    /// the family); for tests of memory boundedness.
    public var heldSlotCount: Int { core.heldSlotCount }

    func write(staging: inout StagingBuffer, output: inout [UInt8]) {
        staging.append(header, output: &output)
        SampleWriter.writeSimple(core, staging: &staging, output: &output) { $0.value }
    }
}

/// A gauge metric and its series, one per distinct set of label values.
public final class GaugeFamily: Sendable, RegisteredFamily {
    let core: FamilyCore<Gauge>
    let shape: FamilyShape
    private let header: [UInt8]
    var name: String { core.name }

    init(name: String, help: String, labelNames: [String], onMisuse: MisuseReporter?) {
        core = FamilyCore(name: name, labelNames: labelNames, linePrefixed: true, onMisuse: onMisuse) {
            Gauge()
        }
        shape = FamilyShape(kind: .gauge, labelNames: labelNames, buckets: [])
        header = TextEscaping.header(name: name, help: help, type: "gauge")
    }

    /// The series for these label values (in label-name order), created on first use.
    /// Wrong arity reports `labelArityMismatch` and returns a series that is never exported.
    public func labels(_ values: [String]) -> Gauge { core.series(for: values) }
    /// Variadic form of ``labels(_:)-([String])``.
    public func labels(_ values: String...) -> Gauge { core.series(for: values) }
    /// Drops the series from the exposition and releases it.
    public func remove(_ values: [String]) { core.remove(values) }
    /// Variadic form of ``remove(_:)-([String])``.
    public func remove(_ values: String...) { core.remove(values) }
    /// Number of exported series.
    public var seriesCount: Int { core.seriesCount }
    /// Series objects held, including removed ones awaiting compaction (bounded by a quarter of
    /// the family); for tests of memory boundedness.
    public var heldSlotCount: Int { core.heldSlotCount }

    func write(staging: inout StagingBuffer, output: inout [UInt8]) {
        staging.append(header, output: &output)
        SampleWriter.writeSimple(core, staging: &staging, output: &output) { $0.value }
    }
}

/// A histogram metric and its series, one per distinct set of label values.
public final class HistogramFamily: Sendable, RegisteredFamily {
    let core: FamilyCore<Histogram>
    let shape: FamilyShape
    private let layout: BucketLayout
    private let header: [UInt8]
    private let bucketName: [UInt8]  // name_bucket{
    private let sumName: [UInt8]     // name_sum
    private let countName: [UInt8]   // name_count
    var name: String { core.name }

    init(name: String, help: String, labelNames: [String], buckets: [Double], onMisuse: MisuseReporter?) {
        let layout = BucketLayout(upperBounds: buckets)
        self.layout = layout
        core = FamilyCore(name: name, labelNames: labelNames, linePrefixed: false, onMisuse: onMisuse) {
            Histogram(layout: layout, onMisuse: onMisuse)
        }
        shape = FamilyShape(kind: .histogram, labelNames: labelNames, buckets: buckets)
        header = TextEscaping.header(name: name, help: help, type: "histogram")
        bucketName = Array((name + "_bucket{").utf8)
        sumName = Array((name + "_sum").utf8)
        countName = Array((name + "_count").utf8)
    }

    /// The series for these label values (in label-name order), created on first use.
    /// Wrong arity reports `labelArityMismatch` and returns a series that is never exported.
    public func labels(_ values: [String]) -> Histogram { core.series(for: values) }
    /// Variadic form of ``labels(_:)-([String])``.
    public func labels(_ values: String...) -> Histogram { core.series(for: values) }
    /// Drops the series from the exposition and releases it.
    public func remove(_ values: [String]) { core.remove(values) }
    /// Variadic form of ``remove(_:)-([String])``.
    public func remove(_ values: String...) { core.remove(values) }
    /// Number of exported series.
    public var seriesCount: Int { core.seriesCount }
    /// Series objects held, including removed ones awaiting compaction (bounded by a quarter of
    /// the family); for tests of memory boundedness.
    public var heldSlotCount: Int { core.heldSlotCount }

    func write(staging: inout StagingBuffer, output: inout [UInt8]) {
        staging.append(header, output: &output)
        SampleWriter.writeHistograms(
            core, layout: layout,
            names: (bucket: bucketName, sum: sumName, count: countName), staging: &staging, output: &output)
    }
}
