import Hummingbird
import HummingbirdTesting
import NIOCore
import ProcmgrHTTP
import Testing

@Suite("Restart, stop, reload and who may call them", .timeLimit(.minutes(1)))
struct ActionEndpointTests {
    static let mutations = ["/api/v1/processes/api-1/restart", "/api/v1/processes/api-1/stop", "/-/reload"]

    @Test("a tokenless loopback listener lets local callers act")
    func loopbackWithoutToken() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend) { client in
            for uri in Self.mutations {
                let response = try await client.execute(uri: uri, method: .post)
                #expect(response.status == .ok, "\(uri)")
                #expect(response.text == #"{"result":"success"}"#)
            }
            #expect(backend.actions == ["restart api-1", "stop api-1", "reload"])
        }
    }

    @Test("with a token: 401 and WWW-Authenticate without it or with a wrong one, 200 with it")
    func tokenEnforced() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend, token: "s3cret") { client in
            for (done, uri) in Self.mutations.enumerated() {
                for authorization in [nil, "Bearer wrong", "Bearer s3cre", "Bearer s3cret-", "Basic czNjcmV0", "s3cret"] as [String?] {
                    var headers: HTTPFields = [:]
                    headers[.authorization] = authorization
                    let response = try await client.execute(uri: uri, method: .post, headers: headers)
                    #expect(response.status == .unauthorized, "\(uri) with \(authorization ?? "no header")")
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    _ = try response.errorMessage()
                }
                #expect(backend.actions.count == done, "an unauthorized request reached the backend")
                let allowed = try await client.execute(uri: uri, method: .post, headers: [.authorization: "Bearer s3cret"])
                #expect(allowed.status == .ok, "\(uri)")
            }
            #expect(backend.actions == ["restart api-1", "stop api-1", "reload"])
            // Reads stay open without a token.
            #expect(try await client.execute(uri: "/api/v1/processes", method: .get).status == .ok)
        }
    }

    /// `.live` binds the test server to localhost whatever the configuration
    /// says, which is exactly this case: configured for 0.0.0.0, called through
    /// loopback. The policy follows the configured listener, not the caller.
    @Test("a tokenless listener on 0.0.0.0 refuses with 403 even when called through 127.0.0.1")
    func networkListenerWithoutToken() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend, host: "0.0.0.0") { client in
            for uri in Self.mutations {
                let response = try await client.execute(uri: uri, method: .post, headers: [.authorization: "Bearer guess"])
                #expect(response.status == .forbidden, "\(uri)")
                #expect(try response.errorMessage().contains("no API token is configured"))
            }
            #expect(backend.actions.isEmpty)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test("action failures map to statuses; reload lists the config problems")
    func failures() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend) { client in
            let unknown = try await client.execute(uri: "/api/v1/processes/nope/restart", method: .post)
            #expect(unknown.status == .notFound)
            #expect(try unknown.errorMessage() == #"no process with id "nope""#)

            backend.failActions(with: .invalidConfig(problems: ["processes[2].grace_period: \"10x\" is not a duration", "processes[3].id: duplicate"]))
            let invalid = try await client.execute(uri: "/-/reload", method: .post)
            #expect(invalid.status == .unprocessableContent)
            let body = try invalid.jsonObject()
            #expect(body["error"] as? String == "invalid config")
            #expect(body["problems"] as? [String] == ["processes[2].grace_period: \"10x\" is not a duration", "processes[3].id: duplicate"])

            backend.failActions(with: .conflict("a reload is already running"))
            #expect(try await client.execute(uri: "/-/reload", method: .post).status == .conflict)

            backend.failActions(with: .internal("spawn failed"))
            let failed = try await client.execute(uri: "/api/v1/processes/api-1/stop", method: .post)
            #expect(failed.status == .internalServerError)
            #expect(try failed.errorMessage() == "spawn failed")
            #expect(backend.actions.isEmpty)
        }
    }

    @Test("a body, if any, must be a JSON object")
    func bodies() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend) { client in
            for good in ["{}", #"{"reason":"deploy"}"#, " { } "] {
                let response = try await client.execute(uri: "/-/reload", method: .post, body: ByteBuffer(string: good))
                #expect(response.status == .ok, "\(good)")
            }
            for garbage in ["{", "not json", "[]", "42", "\"x\"", "null", "{\"a\":}", "\u{0}\u{1}\u{2}"] {
                let response = try await client.execute(uri: "/api/v1/processes/api-1/restart", method: .post, body: ByteBuffer(string: garbage))
                #expect(response.status == .badRequest, "\(garbage)")
                #expect(try response.errorMessage() == "request body must be empty or a JSON object")
            }
            #expect(backend.actions == ["reload", "reload", "reload"])
        }
    }
}
