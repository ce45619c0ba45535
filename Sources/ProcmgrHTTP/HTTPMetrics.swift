import ProcmgrMetrics

/// The API's own series in the agent's registry.
///
/// Requests are labelled by route template (`/api/v1/processes/{id}`), never by
/// raw path, and unmatched paths share `other`, so a scanner probing random
/// URLs cannot grow the series count: it stays routes × status codes.
struct HTTPMetrics: Sendable {
    /// The `handler` label of requests that matched no route.
    static let otherHandler = "other"

    private let requests: CounterFamily
    private let durations: HistogramFamily
    private let scrapeBytes: GaugeFamily
    private let openConnections: Gauge
    private let refusedConnections: Counter
    private let evictedConnections: Counter

    init(registry: MetricsRegistry) throws(MetricsRegistryError) {
        requests = try registry.counterFamily(
            name: "procmgr_http_requests_total",
            help: "HTTP requests answered by the agent API, by route template and status code.",
            labelNames: ["handler", "code"])
        durations = try registry.histogramFamily(
            name: "procmgr_http_request_duration_seconds",
            help: "Time from request head to response ready, by route template.",
            labelNames: ["handler"])
        scrapeBytes = try registry.gaugeFamily(
            name: "procmgr_metrics_scrape_bytes",
            help: "Body size of the last /metrics response, by content encoding.",
            labelNames: ["encoding"])
        openConnections = try registry.gauge(
            name: "procmgr_http_open_connections",
            help: "Connections the API holds open now (at most its connection cap).")
        refusedConnections = try registry.counter(
            name: "procmgr_http_connections_refused_total",
            help: "Connections answered 503 and closed: the API's connection cap was reached and every connection had a request in progress.")
        evictedConnections = try registry.counter(
            name: "procmgr_http_connections_evicted_total",
            help: "Idle connections closed to make room for a new one at the API's connection cap.")
    }

    func record(handler: String, code: Int, duration: Duration) {
        requests.labels(handler, String(code)).increment()
        durations.labels(handler).observe(duration)
    }

    func connectionOpened() { openConnections.increment() }

    func connectionClosed() { openConnections.decrement() }

    func recordRefusedConnection() {
        refusedConnections.increment()
    }

    func recordEvictedConnection() {
        evictedConnections.increment()
    }

    func recordScrape(encoding: String, bytes: Int) {
        scrapeBytes.labels(encoding).set(Double(bytes))
    }
}
