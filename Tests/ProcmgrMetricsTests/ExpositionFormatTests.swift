import ProcmgrMetrics
import Testing

/// Exact text of the exposition for each metric type.
@Suite struct ExpositionFormatTests {
    @Test func unlabelledCounterExportsZeroBeforeFirstUse() throws {
        let registry = MetricsRegistry()
        _ = try registry.counter(name: "jobs_total", help: "Jobs run.")
        #expect(registry.exposition() == """
            # HELP jobs_total Jobs run.
            # TYPE jobs_total counter
            jobs_total 0

            """)
    }

    @Test func unlabelledCounter() throws {
        let registry = MetricsRegistry()
        let counter = try registry.counter(name: "jobs_total", help: "Jobs run.")
        counter.increment()
        counter.increment(by: 2)
        counter.increment(by: 0.5)
        #expect(counter.value == 3.5)
        #expect(registry.exposition() == """
            # HELP jobs_total Jobs run.
            # TYPE jobs_total counter
            jobs_total 3.5

            """)
    }

    @Test func labelledCounterSortedByLabelValues() throws {
        let registry = MetricsRegistry()
        let restarts = try registry.counterFamily(
            name: "procmgr_restarts_total", help: "Restarts by reason.", labelNames: ["process", "reason"])
        restarts.labels("web", "crash").increment(by: 3)
        restarts.labels("api", "exit").increment()
        restarts.labels(["web", "backoff"]).increment(by: 1_000_000)
        #expect(restarts.seriesCount == 3)
        #expect(registry.exposition() == """
            # HELP procmgr_restarts_total Restarts by reason.
            # TYPE procmgr_restarts_total counter
            procmgr_restarts_total{process="api",reason="exit"} 1
            procmgr_restarts_total{process="web",reason="backoff"} 1e+06
            procmgr_restarts_total{process="web",reason="crash"} 3

            """)
    }

    @Test func labelledFamilyWithoutSeriesExportsOnlyHeader() throws {
        let registry = MetricsRegistry()
        _ = try registry.gaugeFamily(name: "procmgr_up", help: "Whether a process runs.", labelNames: ["process"])
        #expect(registry.exposition() == """
            # HELP procmgr_up Whether a process runs.
            # TYPE procmgr_up gauge

            """)
    }

    @Test func gauges() throws {
        let registry = MetricsRegistry()
        let temperature = try registry.gauge(name: "temperature", help: "Degrees.")
        temperature.set(-2.5)
        let queue = try registry.gaugeFamily(name: "queue_depth", help: "Items.", labelNames: ["queue"])
        queue.labels("a").increment()
        queue.labels("a").increment(by: 4)
        queue.labels("a").decrement()
        queue.labels("b").decrement(by: 0.25)
        #expect(temperature.value == -2.5)
        #expect(registry.exposition() == """
            # HELP queue_depth Items.
            # TYPE queue_depth gauge
            queue_depth{queue="a"} 4
            queue_depth{queue="b"} -0.25
            # HELP temperature Degrees.
            # TYPE temperature gauge
            temperature -2.5

            """)
    }

    @Test func unlabelledHistogram() throws {
        let registry = MetricsRegistry()
        let latency = try registry.histogram(name: "latency_seconds", help: "Latency.", buckets: [0.1, 1, 10])
        latency.observe(0.25)
        latency.observe(0.5)
        latency.observe(.milliseconds(500))
        latency.observe(20)
        latency.observe(0.1)  // on a bound: counts in that bucket (le is inclusive)
        #expect(latency.count == 5)
        #expect(latency.sum == 21.35)
        #expect(registry.exposition() == """
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.1"} 1
            latency_seconds_bucket{le="1"} 4
            latency_seconds_bucket{le="10"} 4
            latency_seconds_bucket{le="+Inf"} 5
            latency_seconds_sum 21.35
            latency_seconds_count 5

            """)
    }

    @Test func untouchedHistogramWithDefaultBuckets() throws {
        let registry = MetricsRegistry()
        _ = try registry.histogram(name: "h", help: "H.")
        #expect(registry.exposition() == """
            # HELP h H.
            # TYPE h histogram
            h_bucket{le="0.005"} 0
            h_bucket{le="0.01"} 0
            h_bucket{le="0.025"} 0
            h_bucket{le="0.05"} 0
            h_bucket{le="0.1"} 0
            h_bucket{le="0.25"} 0
            h_bucket{le="0.5"} 0
            h_bucket{le="1"} 0
            h_bucket{le="2.5"} 0
            h_bucket{le="5"} 0
            h_bucket{le="10"} 0
            h_bucket{le="+Inf"} 0
            h_sum 0
            h_count 0

            """)
    }

    @Test func labelledHistogram() throws {
        let registry = MetricsRegistry()
        let family = try registry.histogramFamily(
            name: "start_seconds", help: "Start latency.", labelNames: ["process", "phase"], buckets: [1, 1_000_000])
        family.labels("web", "exec").observe(-3)
        family.labels("web", "exec").observe(2_000_000)
        family.labels("db", "exec").observe(.seconds(2))
        #expect(registry.exposition() == """
            # HELP start_seconds Start latency.
            # TYPE start_seconds histogram
            start_seconds_bucket{process="db",phase="exec",le="1"} 0
            start_seconds_bucket{process="db",phase="exec",le="1e+06"} 1
            start_seconds_bucket{process="db",phase="exec",le="+Inf"} 1
            start_seconds_sum{process="db",phase="exec"} 2
            start_seconds_count{process="db",phase="exec"} 1
            start_seconds_bucket{process="web",phase="exec",le="1"} 1
            start_seconds_bucket{process="web",phase="exec",le="1e+06"} 1
            start_seconds_bucket{process="web",phase="exec",le="+Inf"} 2
            start_seconds_sum{process="web",phase="exec"} 1.999997e+06
            start_seconds_count{process="web",phase="exec"} 2

            """)
    }

    @Test func histogramWithoutFiniteBuckets() throws {
        let registry = MetricsRegistry()
        let histogram = try registry.histogram(name: "h", help: "Only +Inf.", buckets: [])
        histogram.observe(7)
        #expect(registry.exposition() == """
            # HELP h Only +Inf.
            # TYPE h histogram
            h_bucket{le="+Inf"} 1
            h_sum 7
            h_count 1

            """)
    }

    @Test func familiesSortedByNameAndCollectorsRunFirst() throws {
        let registry = MetricsRegistry()
        let b = try registry.gauge(name: "b", help: "")
        _ = try registry.counter(name: "a_total", help: "")
        _ = try registry.gauge(name: "B", help: "")
        registry.addCollector { b.set(42) }
        #expect(registry.exposition() == """
            # HELP B 
            # TYPE B gauge
            B 0
            # HELP a_total 
            # TYPE a_total counter
            a_total 0
            # HELP b 
            # TYPE b gauge
            b 42

            """)
    }

    @Test func writeExpositionAppendsToTheBuffer() throws {
        let registry = MetricsRegistry()
        try registry.counter(name: "c_total", help: "C.").increment()
        var buffer = Array("prefix\n".utf8)
        registry.writeExposition(into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "prefix\n" + registry.exposition())
    }

    @Test func emptyRegistryIsEmpty() {
        #expect(MetricsRegistry().exposition() == "")
    }
}
