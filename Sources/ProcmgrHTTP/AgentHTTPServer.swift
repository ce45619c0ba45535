public import Hummingbird
public import Logging
public import NIOCore
public import ProcmgrMetrics
import CompressNIO
import HummingbirdCore

/// Builds the agent's HTTP API on Hummingbird (``AgentHTTPApplication``), a
/// `Service`: run it in the agent's `ServiceGroup` and it shuts down gracefully
/// with everything else.
public enum AgentHTTPServer {
    /// Scrapes that may run at once without allocating fresh buffers; Prometheus
    /// scrapes one target serially, so two covers an HA pair.
    static let idleScrapeBuffers = 2

    /// - Parameters:
    ///   - configuration: where to listen, the API token, the body limit, the connection cap and
    ///     idle timeout.
    ///   - backend: the agent state and actions behind every endpoint.
    ///   - registry: receives the API's own metrics (`procmgr_http_*`,
    ///     `procmgr_metrics_scrape_bytes`); usually the one the backend exposes.
    ///   - logger: for requests that fail inside the server.
    ///   - onServerRunning: called once listening; with port 0 this is where
    ///     the real port is learnt (`channel.localAddress?.port`).
    /// - Throws: if the registry already holds one of the API's metric names
    ///   with another shape. Running the application throws ``ListenError`` if it cannot listen.
    public static func makeApplication(
        configuration: APIServerConfiguration,
        backend: some AgentBackend,
        registry: MetricsRegistry,
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws(MetricsRegistryError) -> some ApplicationProtocol {
        let metrics = try HTTPMetrics(registry: registry)
        let pool = ScrapeBufferPool(maxIdle: idleScrapeBuffers) {
            // zlib level 4 (bench/compare-metrics.sh, 2026-12-01): 1.10× client_golang's gzip
            // size at 100/1,000/10,000 processes where level 1 was 1.33× and level 3 1.18× (goal
            // ≤ 1.2×), for ~1.4× level 1's deflate CPU; still far over 2× client_golang's speed.
            try ScrapeBuffers(gzipLevel: .compressionLevel4)
        }
        let streams = try ServerSentEventStreams(
            maxConnections: configuration.maxConnections, keepAliveInterval: configuration.keepAliveInterval, registry: registry)
        let handlers = AgentRoutes(
            backend: backend,
            policy: MutationPolicy(host: configuration.host, token: configuration.token),
            maxBodyBytes: configuration.maxBodyBytes,
            metricsEndpoint: MetricsEndpoint(backend: backend, pool: pool, metrics: metrics),
            streams: streams)
        let router = Router(context: BasicRequestContext.self)
        for (route, handler) in handlers.all {
            router.on(RouterPath(route.template), method: route.method, use: handler)
        }
        let table = RouteTable(handlers.all.map(\.0))
        return AgentHTTPApplication(
            responder: APIResponder(base: router.buildResponder(), routes: table, metrics: metrics),
            host: configuration.host,
            port: configuration.port,
            logger: logger,
            serverRunning: onServerRunning,
            idleTimeout: configuration.idleTimeout,
            gate: ConnectionGate(maxConnections: configuration.maxConnections),
            metrics: metrics)
    }
}
