import ProcmgrMetrics
import ProcmgrSupport

/// What every SSE stream of one server shares: the cap on open streams, the keep-alive ticker,
/// and the `procmgr_http_streams{stream}` / `procmgr_http_stream_dropped_total{stream}` series.
///
/// Why a cap below the connection cap: a stream holds its connection busy for as long as the
/// client stays, and ``ConnectionGate`` never evicts a busy connection. Were streams allowed every
/// slot, a scrape arriving at the cap would be refused; so ``reservedConnections(of:)`` slots are
/// always left to plain requests (`/metrics`, `/healthz`, the JSON API), and a stream asked for
/// beyond the cap gets a 503 instead.
final class ServerSentEventStreams: Sendable {
    let maxStreams: Int
    let keepAlive: KeepAliveTicker
    private let open = LockedState(0)
    private let gauges: [StreamKind: Gauge]
    private let drops: [StreamKind: Counter]

    /// Connections kept from streams: an eighth of the cap, at least 8, at most half of it.
    static func reservedConnections(of maxConnections: Int) -> Int {
        min(max(8, maxConnections / 8), maxConnections / 2)
    }

    init(maxConnections: Int, keepAliveInterval: Duration, registry: MetricsRegistry) throws(MetricsRegistryError) {
        maxStreams = max(0, maxConnections - Self.reservedConnections(of: maxConnections))
        keepAlive = KeepAliveTicker(interval: keepAliveInterval)
        let gauges = try registry.gaugeFamily(
            name: "procmgr_http_streams",
            help: "Server-Sent Event streams open now, by stream (events, logs).",
            labelNames: ["stream"])
        let drops = try registry.counterFamily(
            name: "procmgr_http_stream_dropped_total",
            help: "Server-Sent Event streams closed because the client fell too far behind, by stream (events, logs).",
            labelNames: ["stream"])
        var gaugeByKind: [StreamKind: Gauge] = [:]
        var dropByKind: [StreamKind: Counter] = [:]
        for kind in StreamKind.allCases {
            gaugeByKind[kind] = gauges.labels(kind.rawValue)
            dropByKind[kind] = drops.labels(kind.rawValue)
        }
        self.gauges = gaugeByKind
        self.drops = dropByKind
    }

    /// Streams open now (all kinds).
    var openStreams: Int { open.withLock { $0 } }

    /// A slot for one more stream, or nil at the cap (the caller answers 503).
    func reserve(_ kind: StreamKind) -> StreamSlot? {
        let admitted = open.withLock { open -> Bool in
            guard open < maxStreams else { return false }
            open += 1
            return true
        }
        guard admitted else { return nil }
        gauges[kind]?.increment()
        return StreamSlot(kind: kind, streams: self)
    }

    func countDrop(_ kind: StreamKind) {
        drops[kind]?.increment()
    }

    fileprivate func release(_ kind: StreamKind) {
        open.withLock { $0 -= 1 }
        gauges[kind]?.decrement()
    }
}

/// One stream's place under the cap, given back once: by the stream when it ends, or — when the
/// response body is never written (a HEAD request, a connection gone before the head went
/// out) — when the body holding it is dropped.
final class StreamSlot: Sendable {
    let kind: StreamKind
    private let streams: ServerSentEventStreams
    private let released = LockedState(false)

    fileprivate init(kind: StreamKind, streams: ServerSentEventStreams) {
        self.kind = kind
        self.streams = streams
    }

    deinit { release() }

    func release() {
        let first = released.withLock { released -> Bool in
            defer { released = true }
            return !released
        }
        if first { streams.release(kind) }
    }
}
