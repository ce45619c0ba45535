import Hummingbird
import NIOCore

/// `GET /metrics`: the backend's exposition, gzip-compressed when the client
/// prefers it.
///
/// Rendering and compressing run on pooled ``ScrapeBuffers`` so a steady
/// stream of scrapes reuses the same memory, and two concurrent scrapes never
/// share any of it.
struct MetricsEndpoint<Backend: AgentBackend>: Sendable {
    /// The exact media type of text format 0.0.4 that Prometheus expects.
    static var contentType: String { "text/plain; version=0.0.4; charset=utf-8" }

    let backend: Backend
    let pool: ScrapeBufferPool
    let metrics: HTTPMetrics

    func respond(to request: Request) throws -> Response {
        let gzip = AcceptEncoding.prefersGzip(request.headers[.acceptEncoding])
        let body = try pool.withBuffers { buffers in
            backend.writeMetrics(into: &buffers.text)
            return gzip ? try buffers.gzipBody() : buffers.identityBody()
        }
        metrics.recordScrape(encoding: gzip ? "gzip" : "identity", bytes: body.readableBytes)
        var headers: HTTPFields = [
            .contentType: Self.contentType,
            // On identity responses too: a cache must not hand a gzip-less client's answer to others, or vice versa.
            .vary: "Accept-Encoding",
        ]
        if gzip {
            headers[.contentEncoding] = "gzip"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}
