import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import Testing

@Suite("POST /api/v1/processes/{id}/scale", .timeLimit(.minutes(1)))
struct ScaleEndpointTests {
    @Test("replicas=N reaches the backend; the token is checked before the parameter")
    func scales() async throws {
        let backend = FakeBackend(processes: [process("web"), process("api")])
        try await withLiveServer(backend: backend, token: "s3cret") { client in
            let anonymous = try await client.execute(uri: "/api/v1/processes/web/scale?replicas=banana", method: .post)
            #expect(anonymous.status == .unauthorized)
            let response = try await client.execute(
                uri: "/api/v1/processes/web/scale?replicas=5", method: .post, headers: [.authorization: "Bearer s3cret"])
            #expect(response.status == .ok)
            #expect(response.text == #"{"result":"success"}"#)
            let zero = try await client.execute(
                uri: "/api/v1/processes/web/scale?replicas=0", method: .post, headers: [.authorization: "Bearer s3cret"])
            #expect(zero.status == .ok)
            #expect(backend.actions == ["scale web 5", "scale web 0"])
        }
    }

    @Test("a missing or out-of-range replicas is a 400 naming the parameter")
    func badReplicas() async throws {
        let backend = FakeBackend(processes: [process("web"), process("api")])
        try await withLiveServer(backend: backend) { client in
            for query in ["", "?replicas=", "?replicas=-1", "?replicas=1001", "?replicas=2.5", "?replicas=x", "?count=3"] {
                let response = try await client.execute(uri: "/api/v1/processes/web/scale\(query)", method: .post)
                #expect(response.status == .badRequest, "\(query)")
                #expect(try response.errorMessage() == "query parameter replicas must be an integer from 0 to 1000", "\(query)")
            }
            #expect(backend.actions.isEmpty)
        }
    }

    @Test("unknown id → 404; a process that is not replicated → 409; GET → 405")
    func failures() async throws {
        let backend = FakeBackend(processes: [process("web"), process("api")])
        try await withLiveServer(backend: backend) { client in
            #expect(try await client.execute(uri: "/api/v1/processes/nope/scale?replicas=2", method: .post).status == .notFound)
            backend.failActions(with: .conflict("process api is not replicated"))
            let conflict = try await client.execute(uri: "/api/v1/processes/api/scale?replicas=2", method: .post)
            #expect(conflict.status == .conflict)
            #expect(try conflict.errorMessage() == "process api is not replicated")
            #expect(try await client.execute(uri: "/api/v1/processes/web/scale?replicas=2", method: .get).status == .methodNotAllowed)
        }
    }
}
