import Foundation
import Glibc
import NIOHTTP1
import ProcmgrTestKit
import Testing

/// `orphans: adopt` end to end: an agent restart (SIGTERM, start again) keeps every program
/// running with the same pid and port, and the new agent manages them (stops them on request).
@Suite(.timeLimit(.minutes(3)))
struct AgentAdoptionTests {
    @Test("with orphans: adopt, restarting the agent keeps the children's pids and ports")
    func restartKeepsChildren() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try """
        agent:
          state_dir: \(directory)/state
          orphans: adopt
        processes:
          - { id: keep-1, command: ["sleep", "600"], port: auto }
          - { id: keep-2, command: ["sh", "-c", "echo hello; exec sleep 600"] }
        """.write(toFile: file, atomically: true, encoding: .utf8)

        let first = try await AgentProcess.start(["--config", file])
        let before = try await first.waitForProcesses("both running") { runningPIDs($0).count == 2 }
        let pids = runningPIDs(before)
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == .exited(code: 0))
        for pid in pids.values { #expect(processExists(Int32(pid)), "pid \(pid) died with the agent") }

        let second = try await AgentProcess.start(["--config", file])
        defer { Task { await second.kill(); for pid in pids.values { kill(Int32(pid), SIGKILL) } } }
        let after = try await second.waitForProcesses("both adopted") { runningPIDs($0).count == 2 }
        #expect(runningPIDs(after) == pids)
        #expect(after["keep-1"]?["port"] as? Int == before["keep-1"]?["port"] as? Int)
        #expect(try await second.metric(#"procmgr_restarts_total{process="keep-1",reason="config"}"#) == nil)

        // The new agent really manages them: a stop ends the adopted program.
        #expect(try await second.request("/api/v1/processes/keep-1/stop", method: .POST).status == 200)
        try await second.waitForProcesses("keep-1 finished") { $0["keep-1"]?["state"] as? String == "finished" }
        try await eventually("keep-1's program is gone") { !processExists(Int32(pids["keep-1"]!)) }
        #expect(try await second.request("/api/v1/processes/keep-2/stop", method: .POST).status == 200)
        try await eventually("keep-2's program is gone") { !processExists(Int32(pids["keep-2"]!)) }
    }
}
