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
    }

    func record(handler: String, code: Int, duration: Duration) {
        requests.labels(handler, String(code)).increment()
        durations.labels(handler).observe(duration)
    }

    func recordScrape(encoding: String, bytes: Int) {
        scrapeBytes.labels(encoding).set(Double(bytes))
    }
}
