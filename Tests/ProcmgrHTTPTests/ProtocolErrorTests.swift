import Foundation
import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import Testing

/// What the HTTP decoder rejects gets the API's JSON error body (400, 414, 431) and the server
/// keeps serving; HEAD works on every GET route; echoed ids are cut short.
@Suite("Protocol errors, HEAD and echoed input", .timeLimit(.minutes(1)))
struct ProtocolErrorTests {
    /// Status line and JSON `error` of a raw reply; fails if the body is not the JSON error.
    static func jsonError(_ reply: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (status: String, error: String) {
        let parts = reply.components(separatedBy: "\r\n\r\n")
        try #require(parts.count == 2, "no head/body split in \(reply.debugDescription)", sourceLocation: sourceLocation)
        let head = parts[0]
        #expect(head.contains("Content-Type: application/json; charset=utf-8"), sourceLocation: sourceLocation)
        #expect(head.contains("Content-Length: \(parts[1].utf8.count)"), sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(parts[1].utf8)) as? [String: Any]
        let error = try #require(object?["error"] as? String, "no error field in \(parts[1])", sourceLocation: sourceLocation)
        return (head.components(separatedBy: "\r\n").first ?? "", error)
    }

    @Test("bytes that are not HTTP: 400 with the JSON body, on the server the agent runs and on HummingbirdTesting's")
    func malformedRequest() async throws {
        let garbage = Array("\u{0}\u{1}NOT HTTP AT ALL\r\n\r\n".utf8)
        try await withServedAPI { port in
            let (status, error) = try Self.jsonError(try await rawExchange(port: port, sending: garbage))
            #expect(status == "HTTP/1.1 400 Bad Request")
            #expect(error.hasPrefix("malformed HTTP request: "))
            #expect(try await rawExchange(port: port, sending: Array("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200"))
        }
        try await withLiveServer { client in
            let (status, _) = try Self.jsonError(try await rawExchange(port: try #require(client.port), sending: garbage))
            #expect(status == "HTTP/1.1 400 Bad Request")
        }
    }

    @Test("a request line over 8 KiB: 414; headers over their limit: 431; both JSON")
    func oversizedHead() async throws {
        try await withServedAPI { port in
            let longTarget = "/api/v1/processes/" + String(repeating: "a", count: 10_000)
            let (uriStatus, uriError) = try Self.jsonError(try await rawExchange(
                port: port, sending: Array("GET \(longTarget) HTTP/1.1\r\nHost: t\r\n\r\n".utf8)))
            #expect(uriStatus == "HTTP/1.1 414 URI Too Long")
            #expect(uriError == "request line longer than 8192 bytes")

            let bigHeader = "X-Big: " + String(repeating: "b", count: 20_000)
            let (headerStatus, headerError) = try Self.jsonError(try await rawExchange(
                port: port, sending: Array("GET /healthz HTTP/1.1\r\nHost: t\r\n\(bigHeader)\r\n\r\n".utf8)))
            #expect(headerStatus == "HTTP/1.1 431 Request Header Fields Too Large")
            #expect(headerError.hasPrefix("request header fields larger than"))

            let manyHeaders = (0..<150).map { "X-H\($0): v\r\n" }.joined()
            let (countStatus, _) = try Self.jsonError(try await rawExchange(
                port: port, sending: Array("GET /healthz HTTP/1.1\r\nHost: t\r\n\(manyHeaders)\r\n".utf8)))
            #expect(countStatus == "HTTP/1.1 431 Request Header Fields Too Large")

            // A long request line after a served request on the same connection is measured too.
            let reply = try await rawExchange(port: port, sending: Array(
                "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET \(longTarget) HTTP/1.1\r\nHost: t\r\n\r\n".utf8))
            #expect(reply.hasPrefix("HTTP/1.1 200"))
            #expect(reply.contains("HTTP/1.1 414 URI Too Long"), "\(reply.prefix(400))")
            #expect(reply.contains(#"{"error":"request line longer than 8192 bytes"}"#))

            #expect(try await rawExchange(port: port, sending: Array("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test("HEAD on every GET route: the GET's status and headers, no body")
    func headOnGetRoutes() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend) { client in
            for uri in ["/healthz", "/readyz", "/metrics", "/api/v1/processes", "/api/v1/processes/api-1", "/api/v1/processes/api-1/logs", "/api/v1/routes?host=x", "/api/v1/processes/nope"] {
                let get = try await client.execute(uri: uri, method: .get)
                let head = try await client.execute(uri: uri, method: .head)
                #expect(head.status == get.status, "\(uri)")
                #expect(head.body.readableBytes == 0, "\(uri)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "\(uri)")
                if uri != "/metrics" {
                    #expect(head.headers[.contentLength] == String(get.body.readableBytes), "\(uri)")
                }
            }
            let post = try await client.execute(uri: "/-/reload", method: .head)
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "POST")
            #expect(backend.actions.isEmpty)
        }
        try await withServedAPI { port in
            let reply = try await rawExchange(port: port, sending: Array("HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(reply.contains("Content-Length: 15\r\n"))
            #expect(reply.hasSuffix("\r\n\r\n"))
        }
    }

    @Test("a long unknown id is quoted cut to 64 characters")
    func longIdTruncated() async throws {
        try await withLiveServer { client in
            let id = String(repeating: "z", count: 5_000)
            for (uri, method) in [("/api/v1/processes/\(id)", HTTPRequest.Method.get), ("/api/v1/processes/\(id)/restart", .post), ("/api/v1/processes/\(id)/logs", .get)] {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .notFound)
                #expect(try response.errorMessage() == "no process with id \"\(String(repeating: "z", count: 64))…\"")
            }
            let path = try await client.execute(uri: "/" + String(repeating: "p", count: 5_000), method: .get)
            #expect(try path.errorMessage() == "no route for /" + String(repeating: "p", count: 63) + "…")
        }
    }
}
