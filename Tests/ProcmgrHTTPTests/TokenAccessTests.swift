import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import Testing

/// The token as the server reads it at each request: a replaced token is the only one accepted
/// from then on, and `/logs` is behind it on a listener others can reach.
@Suite("Token rotation and /logs access", .timeLimit(.minutes(1)))
struct TokenAccessTests {
    @Test("a replaced token works at once and the old one stops working")
    func rotation() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let token = APIToken("first")
        let app = try AgentHTTPServer.makeApplication(
            configuration: APIServerConfiguration(host: "127.0.0.1", port: 0, token: token),
            backend: backend, registry: .init(), logger: testLogger())
        try await app.test(.live) { (client: any TestClientProtocol) async throws in
            #expect(try await client.execute(uri: "/-/reload", method: .post, headers: [.authorization: "Bearer first"]).status == .ok)
            token.replace(with: "second")
            #expect(try await client.execute(uri: "/-/reload", method: .post, headers: [.authorization: "Bearer first"]).status == .unauthorized)
            #expect(try await client.execute(uri: "/-/reload", method: .post, headers: [.authorization: "Bearer second"]).status == .ok)
        }
        #expect(backend.actions == ["reload", "reload"])
    }

    /// `.live` serves on loopback whatever the configured host; the policy follows the
    /// configured listener.
    @Test("/logs needs the token on a non-loopback listener with a token configured")
    func logsBehindToken() async throws {
        let backend = FakeBackend(processes: [process("api-1")], logs: ["api-1": [LogLineView(stream: "stdout", text: "hello")]])
        try await withLiveServer(backend: backend, host: "0.0.0.0", token: "s3cret") { client in
            let without = try await client.execute(uri: "/api/v1/processes/api-1/logs", method: .get)
            #expect(without.status == .unauthorized)
            #expect(without.headers[.wwwAuthenticate] == "Bearer")
            // Unknown ids are not revealed either: the token is checked first.
            #expect(try await client.execute(uri: "/api/v1/processes/nope/logs", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/processes/api-1/logs", method: .get, headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/processes/api-1/logs", method: .get, headers: [.authorization: "Bearer s3cret"]).status == .ok)
            #expect(try await client.execute(uri: "/api/v1/processes/api-1", method: .get).status == .ok)
        }
        try await withLiveServer(backend: backend, host: "127.0.0.1", token: "s3cret") { (client: any TestClientProtocol) async throws in
            #expect(try await client.execute(uri: "/api/v1/processes/api-1/logs", method: .get).status == .ok)
        }
        try await withLiveServer(backend: backend, host: "0.0.0.0") { (client: any TestClientProtocol) async throws in
            #expect(try await client.execute(uri: "/api/v1/processes/api-1/logs", method: .get).status == .ok)
        }
    }
}
