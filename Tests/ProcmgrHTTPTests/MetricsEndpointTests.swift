import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import ProcmgrMetrics
import Testing

@Suite("GET /metrics", .timeLimit(.minutes(1)))
struct MetricsEndpointTests {
    /// A registry with enough series that gzip has something to do.
    static func populatedRegistry() throws -> MetricsRegistry {
        let registry = MetricsRegistry()
        let states = try registry.gaugeFamily(name: "procmgr_processes", help: "Processes by state.", labelNames: ["state"])
        states.labels("running").set(3)
        let restarts = try registry.counterFamily(name: "procmgr_restarts_total", help: "Restarts.", labelNames: ["process", "reason"])
        for index in 0..<200 {
            restarts.labels("api-\(index)", "exit").increment(by: index)
        }
        return registry
    }

    static func backend(for registry: MetricsRegistry) -> FakeBackend {
        FakeBackend { registry.writeExposition(into: &$0) }
    }

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    @Test("the gzip body decompresses to exactly the identity body")
    func gzipMatchesIdentity() async throws {
        let registry = try Self.populatedRegistry()
        let expected = registry.exposition()
        try await withLiveServer(backend: Self.backend(for: registry)) { client in
            let gzipped = try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip"])
            #expect(gzipped.status == .ok)
            #expect(gzipped.headers[.contentEncoding] == "gzip")
            #expect(gzipped.headers[.contentType] == Self.contentType)
            #expect(gzipped.headers[.vary] == "Accept-Encoding")
            #expect(gzipped.body.readableBytes < expected.utf8.count / 4)

            let plain = try await client.execute(uri: "/metrics", method: .get)
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.headers[.contentType] == Self.contentType)
            #expect(plain.headers[.vary] == "Accept-Encoding")

            // The server's own series go to another registry, so both scrapes see the same text.
            #expect(plain.text == expected)
            #expect(try gunzip(gzipped.body) == expected)
        }
    }

    @Test("gzip output is byte-identical to identity for a fixed exposition")
    func gzipRoundTripsExactly() async throws {
        let text = (0..<5000).map { "procmgr_fixed_total{process=\"p\($0)\"} \($0)\n" }.joined()
        let backend = FakeBackend { $0.append(contentsOf: text.utf8) }
        try await withLiveServer(backend: backend) { client in
            for _ in 0..<3 {  // reused buffers and deflate stream must give the same result every time
                let gzipped = try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip, deflate"])
                let plain = try await client.execute(uri: "/metrics", method: .get)
                #expect(try gunzip(gzipped.body) == text)
                #expect(plain.text == text)
                #expect(plain.headers[.contentLength] == String(text.utf8.count))
            }
        }
    }

    @Test("identity unless gzip is acceptable and preferred", arguments: [
        ("gzip;q=0", false), ("identity", false), (nil, false), ("gzip;q=0.5, identity;q=0.9", false),
        ("*", true), ("identity;q=0", false), ("gzip", true), ("*, gzip;q=0", false),
    ] as [(String?, Bool)])
    func negotiation(header: String?, gzip: Bool) async throws {
        let text = "procmgr_processes{state=\"running\"} 3\n"
        let backend = FakeBackend { $0.append(contentsOf: text.utf8) }
        try await withLiveServer(backend: backend) { client in
            var headers: HTTPFields = [:]
            if let header { headers[.acceptEncoding] = header }
            let response = try await client.execute(uri: "/metrics", method: .get, headers: headers)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == Self.contentType)
            #expect(response.headers[.vary] == "Accept-Encoding")
            if gzip {
                #expect(response.headers[.contentEncoding] == "gzip")
                #expect(try gunzip(response.body) == text)
            } else {
                #expect(response.headers[.contentEncoding] == nil)
                #expect(response.text == text)
            }
        }
    }

    @Test("the last scrape's size is exported per encoding")
    func scrapeBytesGauge() async throws {
        let registry = try Self.populatedRegistry()
        let text = String(repeating: "procmgr_x 1\n", count: 1000)
        let backend = FakeBackend { $0.append(contentsOf: text.utf8) }
        try await withLiveServer(backend: backend, registry: registry) { client in
            let plain = try await client.execute(uri: "/metrics", method: .get)
            let gzipped = try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip"])
            let exported = samples(registry.exposition())
            #expect(exported["procmgr_metrics_scrape_bytes{encoding=\"identity\"}"] == String(plain.body.readableBytes))
            #expect(exported["procmgr_metrics_scrape_bytes{encoding=\"gzip\"}"] == String(gzipped.body.readableBytes))
        }
    }
}
