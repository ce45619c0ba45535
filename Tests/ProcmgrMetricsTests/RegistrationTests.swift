import ProcmgrMetrics
import Testing

/// Registration rules: validation, idempotency, conflicts.
@Suite struct RegistrationTests {
    /// The code of the error `body` throws, nil if it does not throw.
    private func code(_ body: () throws -> Void) -> MetricsRegistryError.Code? {
        do {
            try body()
            return nil
        } catch let error as MetricsRegistryError {
            return error.code
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test(arguments: ["", "1abc", "a-b", "a b", "ü", "a.b", "a{b}"])
    func invalidMetricNames(name: String) {
        let registry = MetricsRegistry()
        #expect(code { _ = try registry.counterFamily(name: name, help: "") } == .invalidMetricName)
        #expect(code { _ = try registry.gauge(name: name, help: "") } == .invalidMetricName)
        #expect(code { _ = try registry.histogram(name: name, help: "") } == .invalidMetricName)
        #expect(registry.exposition() == "")
    }

    @Test(arguments: ["a", "_x", ":x", "a:b_c1", "A9"])
    func validMetricNames(name: String) throws {
        _ = try MetricsRegistry().counterFamily(name: name, help: "")
    }

    @Test(arguments: ["", "1a", "a-b", "a:b", "ü"])
    func invalidLabelNames(label: String) {
        let registry = MetricsRegistry()
        #expect(code { _ = try registry.counterFamily(name: "c", help: "", labelNames: [label]) } == .invalidLabelName)
    }

    @Test func reservedLabelNames() throws {
        let registry = MetricsRegistry()
        #expect(code { _ = try registry.gaugeFamily(name: "g", help: "", labelNames: ["__name__"]) } == .reservedLabelName)
        #expect(code { _ = try registry.gaugeFamily(name: "g", help: "", labelNames: ["ok", "__x"]) } == .reservedLabelName)
        #expect(code { _ = try registry.histogramFamily(name: "h", help: "", labelNames: ["le"]) } == .reservedLabelName)
        _ = try registry.counterFamily(name: "c", help: "", labelNames: ["le", "_x"])  // le is fine off histograms
    }

    @Test func duplicateLabelNames() {
        let registry = MetricsRegistry()
        #expect(code { _ = try registry.counterFamily(name: "c", help: "", labelNames: ["a", "b", "a"]) } == .duplicateLabelName)
    }

    @Test func sameShapeIsIdempotentRegardlessOfHelp() throws {
        let registry = MetricsRegistry()
        let first = try registry.counterFamily(name: "c_total", help: "First.", labelNames: ["a"])
        let second = try registry.counterFamily(name: "c_total", help: "Other help.", labelNames: ["a"])
        #expect(first === second)
        let histogram = try registry.histogramFamily(name: "h", help: "", buckets: [1, 2])
        #expect(try registry.histogramFamily(name: "h", help: "", buckets: [1, 2]) === histogram)
        let gauge = try registry.gauge(name: "g", help: "")
        #expect(try registry.gauge(name: "g", help: "") === gauge)
        #expect(registry.exposition().contains("# HELP c_total First.\n"))
    }

    @Test func conflictingRegistrations() throws {
        let registry = MetricsRegistry()
        _ = try registry.counterFamily(name: "x", help: "", labelNames: ["a"])
        #expect(code { _ = try registry.gaugeFamily(name: "x", help: "", labelNames: ["a"]) } == .conflictingRegistration)
        #expect(code { _ = try registry.counterFamily(name: "x", help: "", labelNames: ["b"]) } == .conflictingRegistration)
        #expect(code { _ = try registry.counterFamily(name: "x", help: "") } == .conflictingRegistration)
        #expect(code { _ = try registry.histogramFamily(name: "x", help: "", labelNames: ["a"]) } == .conflictingRegistration)
        _ = try registry.histogramFamily(name: "h", help: "", buckets: [1])
        #expect(code { _ = try registry.histogramFamily(name: "h", help: "", buckets: [2]) } == .conflictingRegistration)
        #expect(code { _ = try registry.histogramFamily(name: "h", help: "") } == .conflictingRegistration)
    }

    @Test func histogramSeriesNamesAreTaken() throws {
        let registry = MetricsRegistry()
        _ = try registry.histogram(name: "h", help: "")
        for suffix in ["_bucket", "_sum", "_count"] {
            #expect(code { _ = try registry.gauge(name: "h" + suffix, help: "") } == .conflictingRegistration)
        }
        _ = try registry.counter(name: "d_count", help: "")
        #expect(code { _ = try registry.histogram(name: "d", help: "") } == .conflictingRegistration)
    }

    @Test(arguments: [[1.0, 1.0], [2, 1], [.nan], [0, .infinity], [-.infinity, 0], [1, .nan, 3]])
    func invalidBuckets(buckets: [Double]) {
        let registry = MetricsRegistry()
        #expect(code { _ = try registry.histogramFamily(name: "h", help: "", buckets: buckets) } == .invalidBuckets)
        #expect(code { _ = try registry.histogram(name: "h", help: "", buckets: buckets) } == .invalidBuckets)
    }

    @Test func errorsDescribeThemselves() {
        let registry = MetricsRegistry()
        do {
            _ = try registry.counter(name: "bad name", help: "")
            Issue.record("expected a throw")
        } catch {
            #expect(error.description.hasPrefix("invalidMetricName: "))
            #expect(error.message.contains("bad name"))
            #expect(error == MetricsRegistryError(code: error.code, message: error.message))
        }
    }
}

/// Misuse that cannot throw goes to `onMisuse` and never crashes.
@Suite struct MisuseTests {
    @Test func wrongArityReturnsADetachedSeries() throws {
        let log = MisuseLog()
        let registry = log.registry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["a", "b"])
        let before = registry.exposition()
        let detached = family.labels("only-one")
        detached.increment(by: 5)
        #expect(detached.value == 5)  // it works, it is just not exported
        family.labels(["1", "2", "3"]).increment()
        family.labels().increment()
        #expect(registry.exposition() == before)
        #expect(family.seriesCount == 0)
        #expect(log.codes == [.labelArityMismatch, .labelArityMismatch, .labelArityMismatch])
    }

    @Test func wrongArityOnEveryFamilyType() throws {
        let log = MisuseLog()
        let registry = log.registry()
        try registry.gaugeFamily(name: "g", help: "", labelNames: ["a"]).labels("x", "y").set(1)
        try registry.histogramFamily(name: "h", help: "", labelNames: ["a"]).labels().observe(1)
        try registry.gaugeFamily(name: "g", help: "", labelNames: ["a"]).remove()
        try registry.histogramFamily(name: "h", help: "", labelNames: ["a"]).remove("x", "y")
        try registry.counterFamily(name: "c", help: "").remove("x")
        #expect(log.codes == Array(repeating: .labelArityMismatch, count: 5))
    }

    @Test func unlabelledFamilyRejectsValues() throws {
        let log = MisuseLog()
        let registry = log.registry()
        let family = try registry.counterFamily(name: "c_total", help: "")
        family.labels("x").increment()
        #expect(registry.sampleValue("c_total") == "0")
        #expect(log.codes == [.labelArityMismatch])
    }

    @Test func negativeAndNaNCounterIncrementsAreIgnored() throws {
        let log = MisuseLog()
        let registry = log.registry()
        let counter = try registry.counter(name: "c_total", help: "")
        counter.increment(by: 2)
        counter.increment(by: -1)
        counter.increment(by: -0.5)
        counter.increment(by: .nan)
        counter.increment(by: -.infinity)
        counter.setTotal(-3)
        #expect(counter.value == 2)
        #expect(log.codes == Array(repeating: .invalidValue, count: 5))
    }

    @Test func nanObservationIsIgnored() throws {
        let log = MisuseLog()
        let registry = log.registry()
        let histogram = try registry.histogram(name: "h", help: "", buckets: [1])
        histogram.observe(.nan)
        histogram.observe(0.5)
        #expect(histogram.count == 1)
        #expect(histogram.sum == 0.5)
        #expect(log.codes == [.invalidValue])
    }

    @Test func withoutACallbackMisuseIsSilent() throws {
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["a"])
        family.labels().increment(by: -1)
        family.remove("a", "b")
        #expect(family.seriesCount == 0)
    }

    @Test func setTotalOverwrites() throws {
        let counter = try MetricsRegistry().counter(name: "c_total", help: "")
        counter.increment(by: 10)
        counter.setTotal(1.25)
        #expect(counter.value == 1.25)
        counter.setTotal(7)
        #expect(counter.value == 7)
    }
}

/// Series and families disappear and are released.
@Suite struct RemovalTests {
    @Test func removeDropsTheSeries() throws {
        let registry = MetricsRegistry()
        let family = try registry.gaugeFamily(name: "g", help: "", labelNames: ["p"])
        family.labels("a").set(1)
        family.labels("b").set(2)
        _ = registry.exposition()  // populate the sorted cache
        family.remove("a")
        family.remove(["missing"])
        #expect(family.seriesCount == 1)
        #expect(registry.exposition() == """
            # HELP g 
            # TYPE g gauge
            g{p="b"} 2

            """)
        family.labels("a").increment()
        #expect(registry.sampleValue(#"g{p="a"}"#) == "1")  // recreated from zero
    }

    @Test func removedSeriesIsReleased() throws {
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["p"])
        weak var weakCounter: Counter?
        do {
            let counter = family.labels("a")
            counter.increment()
            weakCounter = counter
        }
        _ = registry.exposition()
        #expect(weakCounter != nil)
        family.remove("a")
        // Removal tombstones the series; the next scrape (or enough removals) releases it.
        _ = registry.exposition()
        #expect(weakCounter == nil)
    }

    @Test func churnWithoutScrapesStaysBounded() throws {
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["p"])
        for index in 0..<1_000 { family.labels("keep-\(index)").increment() }
        _ = registry.exposition()
        weak var firstChurned: Counter?
        var mostHeld = 0
        for round in 0..<10 {
            for index in 0..<100 {
                let counter = family.labels("churn-\(round)-\(index)")
                counter.increment()
                if round == 0, index == 0 { firstChurned = counter }
            }
            _ = registry.exposition()  // the new series enter the ordered list
            for index in 0..<100 { family.remove("churn-\(round)-\(index)") }
            mostHeld = max(mostHeld, family.heldSlotCount)
        }
        #expect(family.seriesCount == 1_000)
        #expect(firstChurned == nil, "tombstones are compacted without waiting for a scrape")
        #expect(mostHeld <= 1_400, "held up to \(mostHeld) slots for at most 1,100 live series")
    }

    @Test func unregisterDropsAndReleasesTheFamily() throws {
        let registry = MetricsRegistry()
        weak var weakFamily: HistogramFamily?
        weak var weakSeries: Histogram?
        do {
            let family = try registry.histogramFamily(name: "h", help: "", labelNames: ["p"])
            let series = family.labels("x")
            series.observe(1)
            weakFamily = family
            weakSeries = series
        }
        try registry.counter(name: "other_total", help: "").increment()
        _ = registry.exposition()
        registry.unregister(name: "h")
        registry.unregister(name: "never-registered")
        #expect(weakFamily == nil)
        #expect(weakSeries == nil)
        #expect(registry.exposition() == """
            # HELP other_total 
            # TYPE other_total counter
            other_total 1

            """)
        // The name is free again, even for another type.
        try registry.gauge(name: "h", help: "").set(3)
        #expect(registry.sampleValue("h") == "3")
    }

    @Test func unlabelledSeriesCanBeRemovedAndComesBack() throws {
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "")
        family.labels().increment()
        family.remove()
        #expect(registry.sampleValue("c_total") == nil)
        family.labels().increment()
        #expect(registry.sampleValue("c_total") == "1")
    }
}
