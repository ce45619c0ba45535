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

        // The poll runs in this task, every 10 ms, from the reload until the rollout is complete
        // and all three endpoints are back: every step of the rollout is watched by it.
        try Self.config(stateDir: directory + "/state", procmgr: procmgr, generation: 1).write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        var fewest = Int.max
        try await eventually("the rollout complete with three ready endpoints; fewest seen \(fewest)", timeout: .seconds(60), every: .milliseconds(10)) {
            let count = try await Self.endpoints(agent).count
            fewest = min(fewest, count)
            return count == 3 && agent.output.contains { $0.contains("rolling restart complete") }
        }
        let after = runningPIDs(try await agent.processes())
        for id in ["web.0", "web.1", "web.2"] {
            #expect(after[id] != nil && after[id] != before[id], "\(id) was not restarted")
            #expect(try await agent.metric(#"procmgr_restarts_total{process="\#(id)",reason="config"}"#) == 1)
        }
        // The poll is a witness, not the proof: on a loaded machine the test process's own tasks
        // may poll only a few times. Never fewer than two endpoints in what it saw.
        #expect(fewest >= 2, "a routes answer listed fewer than two ready endpoints during the rollout")
        // The proof, from the agent's own log: each replica is released only once the one before
        // it is ready again (one at a time, max_unavailable 1), so two of three always serve.
        let lines = agent.output
        var steps: [(release: Int, ready: Int)] = []
        for id in ["web.0", "web.1", "web.2"] {
            let release = try #require(lines.firstIndex { $0.contains("replica=\(id) ") && $0.hasSuffix("rolling restart: updating replica") }, "\(id) released")
            let ready = try #require(lines[release...].firstIndex { $0.contains("process=\(id) ") && $0.hasSuffix("] ready") }, "\(id) ready again")
            steps.append((release, ready))
        }
        for (previous, next) in zip(steps, steps.dropFirst()) {
            #expect(previous.ready < next.release, "a replica was released before the one before it was ready again: \(lines.suffix(40))")
        }
        #expect(lines.filter { $0.hasSuffix("rolling restart: updating replica") }.count == 3)
    }
}
