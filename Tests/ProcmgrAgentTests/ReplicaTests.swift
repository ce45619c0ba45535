import Foundation
import Glibc
import NIOHTTP1
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// Replicas against a real `procmgr run`: ids, ports, scaling through the API and how long a
/// scale holds, and a rolling restart that never leaves the hostname without a ready endpoint.
@Suite(.timeLimit(.minutes(3)))
struct ReplicaTests {
    static func config(stateDir: String, web: String, solo: String = "") -> String {
        """
        agent:
          state_dir: \(stateDir)
          shutdown_grace_period: 5s
        processes:
          - id: web
            command: ["sh", "-c", "exec sleep 600"]
            port: auto
            hostnames: [web.test]
            grace_period: 2s
            replicas: 3
        \(web)
          - id: solo
            command: ["sh", "-c", "exec sleep 600"]
            grace_period: 2s
        \(solo)

        """
    }

    static func replicas(_ processes: [String: [String: Any]]) -> [String: [String: Any]] {
        processes.filter { $0.value["replica_of"] as? String == "web" }
    }

    static func scale(_ agent: AgentProcess, _ id: String, _ query: String) async throws -> AgentProcess.Reply {
        try await agent.request("/api/v1/processes/\(id)/scale\(query)", method: .POST)
    }

    @Test("scale 3 → 5 → 2: the next indexes are added, the highest removed, each with its own port")
    func scaleUpAndDown() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try Self.config(stateDir: directory + "/state", web: "").write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let three = try await agent.waitForProcesses("three replicas running") { runningPIDs(Self.replicas($0)).count == 3 }
        #expect(Set(Self.replicas(three).keys) == ["web.0", "web.1", "web.2"])
        #expect(three["web"] == nil)
        #expect(three["solo"]?["replica_of"] is NSNull)
        let ports = Self.replicas(three).values.compactMap { $0["port"] as? Int }
        #expect(Set(ports).count == 3)
        #expect(Self.replicas(three).values.allSatisfy { $0["hostnames"] as? [String] == ["web.test"] })

        #expect(try await Self.scale(agent, "web", "?replicas=5").status == 200)
        let five = try await agent.waitForProcesses("five replicas running") { runningPIDs(Self.replicas($0)).count == 5 }
        #expect(Set(Self.replicas(five).keys) == ["web.0", "web.1", "web.2", "web.3", "web.4"])
        #expect(Set(Self.replicas(five).values.compactMap { $0["port"] as? Int }).count == 5)
        for id in ["web.0", "web.1", "web.2"] { #expect(runningPIDs(five)[id] == runningPIDs(three)[id], "\(id) was restarted") }

        #expect(try await Self.scale(agent, "web", "?replicas=2").status == 200)
        let two = try await agent.waitForProcesses("the three highest replicas removed") { Set(Self.replicas($0).keys) == ["web.0", "web.1"] }
        for id in ["web.0", "web.1"] { #expect(runningPIDs(two)[id] == runningPIDs(three)[id], "\(id) was restarted") }
        for id in ["web.2", "web.3", "web.4"] { #expect(!processExists(Int32(runningPIDs(five)[id] ?? 0)), "\(id) still runs") }

        let notReplicated = try await Self.scale(agent, "solo", "?replicas=2")
        #expect(notReplicated.status == 409)
        #expect(notReplicated.text.contains("not replicated"))
        #expect(try await Self.scale(agent, "nope", "?replicas=2").status == 404)
        #expect(try await Self.scale(agent, "web.0", "?replicas=2").status == 404)
        let bad = try await Self.scale(agent, "web", "?replicas=1001")
        #expect(bad.status == 400)
        #expect(bad.text.contains("replicas"))
    }

    @Test("a scale holds across a reload that leaves the process alone and ends with one that changes it")
    func scaleKeptUntilConfigChanges() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        let state = directory + "/state"
        try Self.config(stateDir: state, web: "").write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        try await agent.waitForProcesses("three replicas running") { runningPIDs(Self.replicas($0)).count == 3 }
        #expect(try await Self.scale(agent, "web", "?replicas=1").status == 200)
        try await agent.waitForProcesses("one replica left") { Set(Self.replicas($0).keys) == ["web.0"] }

        // Only solo changes: web keeps its scale.
        try Self.config(stateDir: state, web: "", solo: "    env: { MODE: changed }").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        let afterSolo = try await agent.processes()
        #expect(Set(Self.replicas(afterSolo).keys) == ["web.0"])

        // web changes: its configured count is back.
        try Self.config(stateDir: state, web: "    env: { MODE: changed }", solo: "    env: { MODE: changed }")
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        try await agent.waitForProcesses("three replicas again") { runningPIDs(Self.replicas($0)).count == 3 }
    }
}
