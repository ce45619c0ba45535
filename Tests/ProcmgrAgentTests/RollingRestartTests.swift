import Foundation
import Glibc
import NIOHTTP1
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// A config change of a replicated process restarts its replicas one after another: polling
/// `/api/v1/routes` every 10 ms through the rollout never shows fewer than two ready endpoints.
/// "Ready" is the health probe passing until readiness probes exist; the rollout reads it through
/// `ServingReadiness`, so the same test holds for readiness.
@Suite(.timeLimit(.minutes(3)))
struct RollingRestartTests {
    static func config(stateDir: String, procmgr: String, generation: Int) -> String {
        """
        agent:
          state_dir: \(stateDir)
          shutdown_grace_period: 5s
          # Its own range: agents of other tests run at once, and a port both allocators found
          # free can only be bound by one of their demo-workers.
          ports: { range: "32400-32499" }
        processes:
          - id: web
            command: ["\(procmgr)", "demo-worker"]
            env: { GENERATION: "\(generation)" }
            port: auto
            hostnames: [web.test]
            replicas: 3
            grace_period: 3s
            # Ready 300 ms after each start at the earliest: the rollout lasts long enough for the
            # 10 ms poll to watch every step of it.
            readiness:
              http: { path: /api/status }
              interval: 100ms
              timeout: 1s
              initial_delay: 300ms

        """
    }

    static func endpoints(_ agent: AgentProcess) async throws -> [String] {
        let reply = try await agent.request("/api/v1/routes?host=web.test")
        guard reply.status == 200, let body = try reply.json() as? [String: Any], let endpoints = body["endpoints"] as? [String] else {
            throw AgentTestFailure("GET /api/v1/routes: \(reply.status) \(reply.text)")
        }
        return endpoints
    }

    @Test("three replicas restart one at a time; the hostname always has at least two ready endpoints")
    func rollingRestartKeepsEndpoints() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        let procmgr = try procmgrPath()
        try Self.config(stateDir: directory + "/state", procmgr: procmgr, generation: 0).write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        try await eventually("three ready endpoints; output: \(agent.output.suffix(20))", timeout: .seconds(60)) {
            try await Self.endpoints(agent).count == 3
        }
        let before = runningPIDs(try await agent.processes())

        let fewest = LockedState(Int.max)
        let polls = LockedState(0)
        let poller = Task {
            while !Task.isCancelled {
                if let count = try? await Self.endpoints(agent).count {
                    fewest.withLock { $0 = min($0, count) }
                    polls.withLock { $0 += 1 }
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        try Self.config(stateDir: directory + "/state", procmgr: procmgr, generation: 1).write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        try await agent.waitForLogLine("rolling restart complete", timeout: .seconds(60))
        try await eventually("three ready endpoints again") { try await Self.endpoints(agent).count == 3 }
        poller.cancel()
        _ = await poller.value

        let after = runningPIDs(try await agent.processes())
        for id in ["web.0", "web.1", "web.2"] {
            #expect(after[id] != nil && after[id] != before[id], "\(id) was not restarted")
            #expect(try await agent.metric(#"procmgr_restarts_total{process="\#(id)",reason="config"}"#) == 1)
        }
        #expect(polls.withLock { $0 } > 10)
        #expect(fewest.withLock { $0 } >= 2, "a routes answer listed fewer than two ready endpoints during the rollout")
        // One at a time: each replica was released only after the previous came back.
        let releases = agent.output.filter { $0.contains("rolling restart: updating replica") }
        #expect(releases.count == 3)
    }
}
