import Foundation
import Glibc
import ProcmgrAgent
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// `procmgr run` stopping: SIGTERM terminates every process in parallel and exits 0 leaving no
/// descendant; a second signal kills everything at once; `shutdown_grace_period` caps each
/// process's own grace period.
@Suite(.timeLimit(.minutes(3)))
struct ShutdownTests {
    /// Every live descendant of `pid` (children, grandchildren, the guardian).
    static func descendants(of pid: Int32) -> Set<Int32> {
        let all = ProcFS.allStats()
        var found: Set<Int32> = []
        var frontier: Set<Int32> = [pid]
        while !frontier.isEmpty {
            let next = Set(all.filter { frontier.contains($0.parentPID) && !$0.isZombie }.map(\.pid))
            frontier = next.subtracting(found)
            found.formUnion(next)
        }
        return found
    }

    @Test("the demo serves metrics and stops on SIGTERM with exit 0, leaving no child behind")
    func demoStopsCleanly() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await AgentProcess.start([], environment: ["TMPDIR": directory])
        defer { Task { await agent.kill() } }
        let processes = try await agent.waitForProcesses("the demo's workers running", timeout: .seconds(60)) { runningPIDs($0).count == 4 }
        #expect(Set(processes.keys) == ["web-1", "web-2", "flaky-1", "worker-1"])
        #expect(processes["web-1"]?["port"] as? Int != nil)
        let metrics = try await agent.request("/metrics", headers: [("Accept-Encoding", "gzip")])
        #expect(metrics.status == 200)
        #expect(metrics.headers.contains { $0.0.lowercased() == "content-encoding" && $0.1 == "gzip" })
        #expect(try await agent.metric(#"procmgr_processes{state="running"}"#) == 4)
        #expect(try await agent.metric(#"procmgr_build_info{version="\#(ProcmgrVersion.current)"}"#) == 1)
        // The demo worker really serves its status endpoint on the port it was given.
        let port = try #require(processes["web-1"]?["port"] as? Int)
        let status = try await AgentProcess.get(url: "http://127.0.0.1:\(port)/api/status")
        #expect(status.status == 200 && status.text.contains(#""name":"web-1""#), "\(status.text)")

        let family = Self.descendants(of: agent.pid)
        #expect(family.count >= 4)
        agent.signal(SIGTERM)
        #expect(try await agent.waitForExit(timeout: .seconds(30)) == .exited(code: 0))
        #expect(agent.output.contains("procmgr: stopped"))
        try await eventually("no descendant of the agent is left", timeout: .seconds(5)) {
            family.allSatisfy { !processExists($0) }
        }
    }

    @Test("a second SIGTERM kills every process group at once instead of waiting out the grace period")
    func secondSignalKillsNow() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try """
        agent:
          state_dir: \(directory)/state
          shutdown_grace_period: 60s
        processes:
          - id: stubborn
            command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]
            grace_period: 60s
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let pid = try #require(runningPIDs(try await agent.waitForProcesses("running") { runningPIDs($0).count == 1 })["stubborn"])
        // The trap must be set before the first TERM, or the shell dies of it.
        try await agent.waitForLogLine("ready")
        let family = Self.descendants(of: agent.pid)

        agent.signal(SIGTERM)
        try await agent.waitForProcesses("stubborn terminating") { $0["stubborn"]?["state"] as? String == "terminating" }
        #expect(processExists(Int32(pid)))
        let second = ContinuousClock.now
        agent.signal(SIGTERM)
        #expect(try await agent.waitForExit(timeout: .seconds(20)) == .exited(code: 0))
        let took = ContinuousClock.now - second
        #expect(took < .seconds(10), "exit took \(took) after the second signal")
        try await eventually("the TERM-ignoring child and its sleep are gone", timeout: .seconds(5)) {
            family.allSatisfy { !processExists($0) }
        }
    }

    @Test("shutdown_grace_period caps a longer process grace period; the child is SIGKILLed at it")
    func shutdownGraceCaps() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try """
        agent:
          state_dir: \(directory)/state
          shutdown_grace_period: 1s
        processes:
          - id: stubborn
            command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]
            grace_period: 120s
          - id: polite
            command: ["sleep", "600"]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 }
        try await agent.waitForLogLine("ready")
        let family = Self.descendants(of: agent.pid)
        let start = ContinuousClock.now
        agent.signal(SIGTERM)
        #expect(try await agent.waitForExit(timeout: .seconds(30)) == .exited(code: 0))
        let took = ContinuousClock.now - start
        #expect(took >= .seconds(1) && took < .seconds(10), "shutdown took \(took)")
        try await eventually("every child gone", timeout: .seconds(5)) { family.allSatisfy { !processExists($0) } }
    }
}
