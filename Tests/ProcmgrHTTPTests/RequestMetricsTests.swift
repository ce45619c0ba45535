import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import ProcmgrMetrics
import Testing

@Suite("The API's own metrics", .timeLimit(.minutes(1)))
struct RequestMetricsTests {
    @Test("requests are counted by route template and code, unknown paths as other")
    func labelsAreTemplates() async throws {
        let registry = MetricsRegistry()
        let backend = FakeBackend(processes: [process("api-1"), process("api-2")])
        try await withLiveServer(backend: backend, registry: registry) { client in
            for uri in ["/api/v1/processes/api-1", "/api/v1/processes/api-2", "/api/v1/processes/zzz", "/nope", "/nope/again", "/healthz"] {
                try await client.execute(uri: uri, method: .get)
            }
            try await client.execute(uri: "/api/v1/processes/api-1/logs?tail=0", method: .get)
            try await client.execute(uri: "/api/v1/processes/api-1/restart", method: .get)
            try await client.execute(uri: "/api/v1/processes/api-1/restart", method: .post)
        }
        let exported = samples(registry.exposition())
        let requests = exported.filter { $0.key.hasPrefix("procmgr_http_requests_total{") }
        #expect(requests == [
            #"procmgr_http_requests_total{handler="/api/v1/processes/{id}",code="200"}"#: "2",
            #"procmgr_http_requests_total{handler="/api/v1/processes/{id}",code="404"}"#: "1",
            #"procmgr_http_requests_total{handler="/api/v1/processes/{id}/logs",code="400"}"#: "1",
            #"procmgr_http_requests_total{handler="/api/v1/processes/{id}/restart",code="405"}"#: "1",
            #"procmgr_http_requests_total{handler="/api/v1/processes/{id}/restart",code="200"}"#: "1",
            #"procmgr_http_requests_total{handler="/healthz",code="200"}"#: "1",
            #"procmgr_http_requests_total{handler="other",code="404"}"#: "2",
        ])
        #expect(exported[#"procmgr_http_request_duration_seconds_count{handler="/api/v1/processes/{id}"}"#] == "3")
        #expect(exported[#"procmgr_http_request_duration_seconds_count{handler="other"}"#] == "2")
        #expect(!registry.exposition().contains("api-1"), "a raw path leaked into a label")
    }
}
