import Foundation
import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import Testing

@Suite("Health, readiness, status, logs, routes", .timeLimit(.minutes(1)))
struct StatusEndpointTests {
    @Test func healthz() async throws {
        try await withLiveServer { client in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            #expect(response.text == #"{"status":"ok"}"#)
        }
    }

    @Test("readyz follows the backend, 503 with a reason until ready")
    func readinessFlips() async throws {
        let backend = FakeBackend()
        backend.setReady(false)
        try await withLiveServer(backend: backend) { client in
            let notReady = try await client.execute(uri: "/readyz", method: .get)
            #expect(notReady.status == .serviceUnavailable)
            #expect(try notReady.jsonObject()["reason"] as? String == "config not loaded or first reconcile not done")

            backend.setReady(true)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(try ready.jsonObject()["status"] as? String == "ready")

            backend.setProblem("orphan guard down")
            let guardDown = try await client.execute(uri: "/readyz", method: .get)
            #expect(guardDown.status == .serviceUnavailable)
            #expect(try guardDown.jsonObject()["reason"] as? String == "orphan guard down")
            backend.setProblem(nil)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)

            backend.setReady(false)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .serviceUnavailable)
        }
    }

    @Test("processes list every field, nulls included")
    func processList() async throws {
        let full = ProcessView(
            id: "api-1", state: "running", pid: 4242, port: 30001, healthy: true, restarts: 2,
            lastError: "exit status 1", lastExit: "exit status 1", createdAt: 1_700_000_000, startedAt: 1_700_000_001.5,
            terminatingAt: nil, nextRestartAt: 1_700_000_010, heartbeatLatencySeconds: 0.0004, hostnames: ["a.example.test"],
            status: "serving 3 clients", waitingFor: [WaitingForView(id: "db", condition: "healthy", since: 1_700_000_000.25)],
            replicaOf: "api", nextRunAt: 1_700_000_060, cpuSeconds: 1.25, memoryBytes: 7_340_032)
        let bare = ProcessView(id: "job", state: "starting", createdAt: 1_700_000_002)
        try await withLiveServer(backend: FakeBackend(processes: [full, bare])) { client in
            let response = try await client.execute(uri: "/api/v1/processes", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
            #expect(list.count == 2)
            let keys: Set<String> = [
                "id", "state", "pid", "port", "healthy", "ready", "restarts", "last_error", "last_exit", "created_at", "started_at",
                "terminating_at", "next_restart_at", "heartbeat_latency_seconds", "hostnames", "status", "waiting_for", "replica_of", "next_run_at",
                "cpu_seconds", "memory_bytes",
            ]
            #expect(Set(list[0].keys) == keys)
            #expect(Set(list[1].keys) == keys)
            #expect(list[0]["pid"] as? Int == 4242)
            #expect(list[0]["replica_of"] as? String == "api")
            #expect(list[0]["next_run_at"] as? Double == 1_700_000_060)
            #expect(list[1]["replica_of"] is NSNull)
            #expect(list[1]["next_run_at"] is NSNull)
            #expect(list[0]["started_at"] as? Double == 1_700_000_001.5)
            #expect(list[0]["hostnames"] as? [String] == ["a.example.test"])
            #expect(list[1]["pid"] is NSNull)
            #expect(list[1]["last_exit"] is NSNull)
            #expect(list[1]["heartbeat_latency_seconds"] is NSNull)
            #expect(list[0]["cpu_seconds"] as? Double == 1.25)
            #expect(list[0]["memory_bytes"] as? Int == 7_340_032)
            #expect(list[1]["cpu_seconds"] is NSNull)
            #expect(list[1]["memory_bytes"] is NSNull)
            let waiting = try #require(list[0]["waiting_for"] as? [[String: Any]])
            #expect(waiting.count == 1)
            #expect(waiting.first?["id"] as? String == "db")
            #expect(waiting.first?["condition"] as? String == "healthy")
            #expect(waiting.first?["since"] as? Double == 1_700_000_000.25)
            #expect((list[1]["waiting_for"] as? [Any])?.isEmpty == true)
            #expect(list[0]["status"] as? String == "serving 3 clients")
            #expect(list[1]["status"] is NSNull)

            // And it round-trips through the public Codable type.
            let decoded = try JSONDecoder().decode([ProcessView].self, from: Data(response.body.readableBytesView))
            #expect(decoded == [full, bare])
        }
    }

    @Test func oneProcessAndUnknownId() async throws {
        try await withLiveServer(backend: FakeBackend(processes: [process("api-1")])) { client in
            let found = try await client.execute(uri: "/api/v1/processes/api-1", method: .get)
            #expect(found.status == .ok)
            #expect(try JSONDecoder().decode(ProcessView.self, from: Data(found.body.readableBytesView)) == process("api-1"))

            let missing = try await client.execute(uri: "/api/v1/processes/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(try missing.errorMessage() == #"no process with id "nope""#)
        }
    }

    @Test("logs: tail defaults to 100 and must be 1…10000")
    func logsTail() async throws {
        let lines = (0..<150).map { LogLineView(stream: $0 % 2 == 0 ? "stdout" : "stderr", text: "line \($0)") }
        let backend = FakeBackend(processes: [process("api-1")], logs: ["api-1": lines])
        try await withLiveServer(backend: backend) { client in
            let byDefault = try await client.execute(uri: "/api/v1/processes/api-1/logs", method: .get)
            #expect(byDefault.status == .ok)
            let body = try byDefault.jsonObject()
            #expect(body["id"] as? String == "api-1")
            let returned = try #require(body["lines"] as? [[String: String]])
            #expect(returned.count == 100)
            #expect(returned.last == ["stream": "stderr", "text": "line 149"])

            let three = try await client.execute(uri: "/api/v1/processes/api-1/logs?tail=3", method: .get)
            #expect(try three.jsonObject()["lines"] as? [[String: String]] == [
                ["stream": "stderr", "text": "line 147"], ["stream": "stdout", "text": "line 148"], ["stream": "stderr", "text": "line 149"],
            ])
            let most = try await client.execute(uri: "/api/v1/processes/api-1/logs?tail=10000", method: .get)
            #expect(most.status == .ok)

            for bad in ["0", "10001", "-1", "abc", "", "1.5", "99999999999999999999"] {
                let response = try await client.execute(uri: "/api/v1/processes/api-1/logs?tail=\(bad)", method: .get)
                #expect(response.status == .badRequest, "tail=\(bad)")
                #expect(try response.errorMessage() == "tail must be an integer from 1 to 10000")
            }
            #expect(backend.requestedTails == [100, 3, 10000])

            let unknown = try await client.execute(uri: "/api/v1/processes/nope/logs", method: .get)
            #expect(unknown.status == .notFound)
            _ = try unknown.errorMessage()
        }
    }

    @Test func routesByHost() async throws {
        let backend = FakeBackend(routes: ["a.example.test": ["127.0.0.1:30001", "127.0.0.1:30002"]])
        try await withLiveServer(backend: backend) { client in
            let known = try await client.execute(uri: "/api/v1/routes?host=a.example.test", method: .get)
            #expect(known.status == .ok)
            #expect(known.text == #"{"endpoints":["127.0.0.1:30001","127.0.0.1:30002"],"host":"a.example.test"}"#)

            let unknown = try await client.execute(uri: "/api/v1/routes?host=b.example.test", method: .get)
            #expect(unknown.status == .ok)
            #expect(try unknown.jsonObject()["endpoints"] as? [String] == [])

            for uri in ["/api/v1/routes", "/api/v1/routes?host=", "/api/v1/routes?hostname=a.example.test"] {
                let missing = try await client.execute(uri: uri, method: .get)
                #expect(missing.status == .badRequest, "\(uri)")
                #expect(try missing.errorMessage() == "query parameter host is required")
            }
        }
    }
}
