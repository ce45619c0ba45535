import FuzzSupport
import ProcmgrMetrics

/// The exposition escaper, through a real registry: the input is cut at NUL bytes into a
/// metric name, a HELP text and label values; one counter, gauge and histogram family get a
/// series with those values. Registration may refuse a bad name (an error, never a crash).
/// Whatever is exposed must be valid text format 0.0.4, which `ExpositionChecker` reads
/// back strictly: every line a HELP, a TYPE or a sample; label values quoted with only
/// `\\`, `\"` and `\n` escapes (so no raw newline can split a value); and every label value
/// and HELP text unescaping to exactly what was registered.
func fuzzExposition(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let fields = fuzzFields(input, count: 5)
    let name = fields[0]
    let help = fields[1]
    let values = [fields[2], fields[3]]
    let extra = fields[4]
    let registry = MetricsRegistry()
    var expected: [ExpectedSeries] = []

    if let counters = try? registry.counterFamily(name: "c_" + name, help: help, labelNames: ["a", "b"]) {
        counters.labels(values).increment(by: 2)
        counters.labels([extra, extra]).increment()
        expected.append(ExpectedSeries(family: "c_" + name, help: help, labelValues: values))
        expected.append(ExpectedSeries(family: "c_" + name, help: help, labelValues: [extra, extra]))
        counters.remove([extra, extra])
        expected.removeLast()
        if values == [extra, extra] { expected.removeLast() }
    }
    if let gauges = try? registry.gaugeFamily(name: "g_" + name, help: help, labelNames: ["process"]) {
        gauges.labels([values[0]]).set(-1.5)
        expected.append(ExpectedSeries(family: "g_" + name, help: help, labelValues: [values[0]]))
    }
    if let histograms = try? registry.histogramFamily(name: "h_" + name, help: help, labelNames: ["x"], buckets: [0.5, 1]) {
        histograms.labels([values[1]]).observe(0.7)
        expected.append(ExpectedSeries(family: "h_" + name, help: help, labelValues: [values[1]]))
    }

    let text = registry.exposition()
    let parsed = ExpositionChecker.parse(text)
    switch parsed {
    case .failure(let problem):
        fuzzCheck(false, "invalid exposition (\(problem)) for fields \(fields.map(\.debugDescription)):\n\(text)")
    case .success(let exposition):
        for series in expected {
            fuzzCheck(exposition.help[series.family] == series.help,
                      "HELP of \(series.family) came back as \(String(describing: exposition.help[series.family]))")
            fuzzCheck(exposition.labelValues[series.family, default: []].contains(series.labelValues),
                      "series \(series.labelValues) of \(series.family) missing from:\n\(text)")
        }
        let exposedFamilies = Set(exposition.labelValues.keys)
        fuzzCheck(exposedFamilies == Set(expected.map(\.family)),
                  "families \(exposedFamilies) exposed, \(expected.map(\.family)) registered")
    }
    return 0
}

private struct ExpectedSeries {
    var family: String
    var help: String
    var labelValues: [String]
}
