import Hummingbird
import HummingbirdTesting
import NIOCore
import ProcmgrHTTP
import Testing

@Suite("Bad input gets a JSON 4xx and the server keeps serving", .timeLimit(.minutes(1)))
struct BadInputTests {
    @Test("unknown paths: 404")
    func unknownPath() async throws {
        try await withLiveServer { client in
            for uri in ["/nope", "/metrics/extra", "/api/v1/processes/a/b/c", "/api/v2/processes", "/%ff%fe"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound, "\(uri)")
                #expect(try response.errorMessage().hasPrefix("no route for"))
            }
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test("wrong method: 405 with Allow")
    func wrongMethod() async throws {
        try await withLiveServer(backend: FakeBackend(processes: [process("api-1")])) { client in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/metrics", .post, "GET, HEAD"),
                ("/healthz", .delete, "GET, HEAD"),
                ("/api/v1/processes", .put, "GET, HEAD"),
                ("/api/v1/processes/api-1", .patch, "GET, HEAD"),
                ("/api/v1/processes/api-1/restart", .get, "POST"),
                ("/api/v1/processes/api-1/stop", .put, "POST"),
                ("/-/reload", .get, "POST"),
                ("/api/v1/routes", .options, "GET, HEAD"),
            ]
            for (uri, method, allow) in cases {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(try response.errorMessage() == "method \(method.rawValue) not allowed; use \(allow)")
            }
            #expect(try await client.execute(uri: "/api/v1/processes/api-1", method: .get).status == .ok)
        }
    }

    @Test("a body over the limit: 413, and the same connection serves the next request")
    func oversizedBody() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend, maxBodyBytes: 1024) { client in
            let tooBig = ByteBuffer(string: "{\"pad\":\"" + String(repeating: "x", count: 64 * 1024) + "\"}")
            let response = try await client.execute(uri: "/-/reload", method: .post, body: tooBig)
            #expect(response.status == .contentTooLarge)
            #expect(try response.errorMessage() == "request body larger than 1024 bytes")
            #expect(backend.actions.isEmpty)

            let justFits = ByteBuffer(string: "{\"pad\":\"" + String(repeating: "x", count: 1000) + "\"}")
            #expect(try await client.execute(uri: "/-/reload", method: .post, body: justFits).status == .ok)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(backend.actions == ["reload"])
        }
    }

    @Test("a chunked body over the limit is cut off at the limit: 413")
    func oversizedChunkedBody() async throws {
        try await withLiveServer(maxBodyBytes: 1024) { client in
            let port = try #require(client.port)
            let chunk = String(repeating: "x", count: 4000)
            let request = "POST /-/reload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n0\r\n\r\n"
            let reply = try await rawExchange(port: port, sending: Array(request.utf8))
            #expect(reply.hasPrefix("HTTP/1.1 413"))
            #expect(reply.contains(#"{"error":"request body larger than 1024 bytes"}"#))
            #expect(try await withExtraConnection(to: client) { try await $0.get("/healthz").status } == .ok)
        }
    }

    @Test("bytes that are not HTTP close that connection only")
    func garbageOnTheWire() async throws {
        try await withLiveServer { client in
            let port = try #require(client.port)
            let reply = try await rawExchange(port: port, sending: Array("\u{0}\u{1}NOT HTTP AT ALL\r\n\r\n".utf8))
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            #expect(reply.contains(#"{"error":"malformed HTTP request: "#))
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}
