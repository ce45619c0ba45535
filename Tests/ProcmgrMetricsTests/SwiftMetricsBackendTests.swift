import CoreMetrics
import ProcmgrMetrics
import Testing

/// swift-metrics instruments land in the registry. The factory is called
/// directly, except in the one test that bootstraps the global system.
@Suite struct SwiftMetricsBackendTests {
    @Test func countersBecomeCounterFamiliesWithSanitizedNames() throws {
        let registry = MetricsRegistry()
        let backend = SwiftMetricsBackend(registry: registry)
        let handler = backend.makeCounter(label: "http.requests-total", dimensions: [("status.code", "200"), ("method", "GET")])
        handler.increment(by: 2)
        // Dimension order does not matter: same series.
        backend.makeCounter(label: "http.requests-total", dimensions: [("method", "GET"), ("status.code", "200")]).increment(by: 1)
        #expect(registry.exposition() == """
            # HELP http_requests_total http.requests-total
            # TYPE http_requests_total counter
            http_requests_total{method="GET",status_code="200"} 3

            """)
        handler.reset()
        #expect(registry.sampleValue(#"http_requests_total{method="GET",status_code="200"}"#) == "0")
    }

    @Test func floatingPointCountersAreCounters() {
        let registry = MetricsRegistry()
        let handler = SwiftMetricsBackend(registry: registry).makeFloatingPointCounter(label: "bytes", dimensions: [])
        handler.increment(by: 1.5)
        handler.increment(by: 1)
        #expect(registry.exposition().contains("# TYPE bytes counter\nbytes 2.5\n"))
    }

    @Test func metersAndPlainRecordersAreGauges() {
        let registry = MetricsRegistry()
        let backend = SwiftMetricsBackend(registry: registry)
        let meter = backend.makeMeter(label: "inflight", dimensions: [("pool", "a")])
        meter.set(Int64(5))
        meter.increment(by: 2)
        meter.decrement(by: 0.5)
        let recorder = backend.makeRecorder(label: "queue_length", dimensions: [], aggregate: false)
        recorder.record(Int64(3))
        recorder.record(4.5)
        let text = registry.exposition()
        #expect(text.contains("# TYPE inflight gauge\ninflight{pool=\"a\"} 6.5\n"))
        #expect(text.contains("# TYPE queue_length gauge\nqueue_length 4.5\n"))
    }

    @Test func aggregatingRecordersAreHistograms() {
        let registry = MetricsRegistry()
        let recorder = SwiftMetricsBackend(registry: registry).makeRecorder(label: "payload", dimensions: [], aggregate: true)
        recorder.record(Int64(2))
        recorder.record(0.5)
        #expect(registry.exposition().contains("# TYPE payload histogram\n"))
        #expect(registry.sampleValue(#"payload_bucket{le="0.5"}"#) == "1")
        #expect(registry.sampleValue(#"payload_bucket{le="2.5"}"#) == "2")
        #expect(registry.sampleValue("payload_sum") == "2.5")
        #expect(registry.sampleValue("payload_count") == "2")
    }

    @Test func timersAreHistogramsInSeconds() {
        let registry = MetricsRegistry()
        let backend = SwiftMetricsBackend(registry: registry)
        backend.makeTimer(label: "db.query", dimensions: [("table", "jobs")]).recordNanoseconds(1_500_000)
        backend.makeTimer(label: "render_seconds", dimensions: []).recordNanoseconds(2_000_000_000)
        #expect(registry.sampleValue(#"db_query_seconds_sum{table="jobs"}"#) == "0.0015")
        #expect(registry.sampleValue(#"db_query_seconds_bucket{table="jobs",le="0.005"}"#) == "1")
        #expect(registry.sampleValue("render_seconds_sum") == "2")
        #expect(registry.sampleValue("render_seconds_count") == "1")
    }

    @Test func awkwardNamesAreSanitized() {
        let registry = MetricsRegistry()
        let backend = SwiftMetricsBackend(registry: registry)
        backend.makeCounter(label: "9lives", dimensions: [("__secret", "x"), ("ü-dim", "y")]).increment(by: 1)
        backend.makeCounter(label: "", dimensions: []).increment(by: 1)
        backend.makeTimer(label: "t", dimensions: [("le", "z")]).recordNanoseconds(1)
        backend.makeCounter(label: "ns:sub.name", dimensions: []).increment(by: 1)
        #expect(registry.sampleValue(#"_9lives{dimension__dim="y",dimension__secret="x"}"#) == "1")
        #expect(registry.sampleValue("_") == "1")
        #expect(registry.sampleValue(#"t_seconds_count{exported_le="z"}"#) == "1")
        #expect(registry.sampleValue("ns:sub_name") == "1")
    }

    @Test func conflictingMakesReportMisuseAndStayUnexported() {
        let log = MisuseLog()
        let registry = log.registry()
        let backend = SwiftMetricsBackend(registry: registry)
        backend.makeCounter(label: "jobs", dimensions: [("queue", "a")]).increment(by: 1)
        let otherDimensions = backend.makeCounter(label: "jobs", dimensions: [("worker", "1")])
        otherDimensions.increment(by: 100)
        let otherType = backend.makeMeter(label: "jobs", dimensions: [("queue", "a")])
        otherType.set(7.0)
        backend.makeRecorder(label: "jobs", dimensions: [], aggregate: true).record(1.0)
        backend.makeTimer(label: "jobs_seconds", dimensions: []).recordNanoseconds(1)  // fine: new name
        backend.makeRecorder(label: "jobs_seconds", dimensions: [], aggregate: false).record(1.0)
        backend.makeCounter(label: "d", dimensions: [("a.b", "1"), ("a_b", "2")]).increment(by: 1)  // duplicate after sanitizing
        #expect(log.codes == [.conflictingRegistration, .conflictingRegistration, .conflictingRegistration,
                              .conflictingRegistration, .duplicateLabelName])
        let text = registry.exposition()
        #expect(text.contains("jobs{queue=\"a\"} 1\n"))
        #expect(!text.contains("worker"))
        #expect(!text.contains(" 100\n"))
        #expect(!text.contains("# TYPE d "))
    }

    @Test func destroyRemovesTheSeries() {
        let registry = MetricsRegistry()
        let backend = SwiftMetricsBackend(registry: registry)
        let counter = backend.makeCounter(label: "c", dimensions: [("k", "v")])
        let floating = backend.makeFloatingPointCounter(label: "f", dimensions: [("k", "v")])
        let meter = backend.makeMeter(label: "m", dimensions: [("k", "v")])
        let gaugeRecorder = backend.makeRecorder(label: "r", dimensions: [("k", "v")], aggregate: false)
        let histogramRecorder = backend.makeRecorder(label: "rh", dimensions: [("k", "v")], aggregate: true)
        let timer = backend.makeTimer(label: "t", dimensions: [("k", "v")])
        #expect(registry.exposition().split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 4 + 2 * 14)
        backend.destroyCounter(counter)
        backend.destroyFloatingPointCounter(floating)
        backend.destroyMeter(meter)
        backend.destroyRecorder(gaugeRecorder)
        backend.destroyRecorder(histogramRecorder)
        backend.destroyTimer(timer)
        #expect(registry.exposition().split(separator: "\n").allSatisfy { $0.hasPrefix("#") })
        counter.increment(by: 1)  // still safe to use after destroy
    }
}

/// The only test that touches the process-wide `MetricsSystem`: bootstrapping
/// twice traps, so it happens once per process through a lazy global.
@Suite(.serialized) struct SwiftMetricsBootstrapTests {
    static let registry = MetricsRegistry()
    static let bootstrapped: Void = MetricsSystem.bootstrap(SwiftMetricsBackend(registry: registry))

    @Test func apiCallsLandInTheRegistry() {
        Self.bootstrapped
        CoreMetrics.Counter(label: "bootstrap_test_events", dimensions: [("kind", "a")]).increment(by: 3)
        CoreMetrics.Timer(label: "bootstrap_test_work").recordMilliseconds(250)
        CoreMetrics.Gauge(label: "bootstrap_test_level").record(2)
        #expect(Self.registry.sample(#"bootstrap_test_events{kind="a"}"#) ?? 0 >= 3)
        #expect(Self.registry.sample("bootstrap_test_work_seconds_count") ?? 0 >= 1)
        #expect(Self.registry.sampleValue("bootstrap_test_level") == "2")
    }
}
