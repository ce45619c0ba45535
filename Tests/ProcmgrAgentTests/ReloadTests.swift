import Foundation
import Glibc
import NIOHTTP1
import ProcmgrTestKit
import Testing

/// Live reload against a real `procmgr run` and real children: only what changed is restarted,
/// an invalid config is rejected whole, and every trigger (file change, SIGHUP, API) works.
@Suite(.timeLimit(.minutes(3)))
struct ReloadTests {
    static func config(stateDir: String, processes: [(id: String, extra: String)], agentExtra: String = "") -> String {
        var text = """
        agent:
          state_dir: \(stateDir)
          shutdown_grace_period: 5s
        \(agentExtra)
        processes:

        """
        for (id, extra) in processes {
            text += """
              - id: \(id)
                command: ["sh", "-c", "exec sleep 600"]
                grace_period: 2s
            \(extra)

            """
        }
        return text
    }

    @Test("a reload that changes one process restarts only that one; the others keep their pids")
    func changeOneProcess() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        let ids = ["a", "b", "c"]
        try Self.config(stateDir: directory + "/state", processes: ids.map { ($0, "") }).write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("all three running") { runningPIDs($0).count == 3 })

        try Self.config(stateDir: directory + "/state", processes: [("a", ""), ("b", "    env: { MODE: changed }"), ("c", "")])
            .write(toFile: file, atomically: true, encoding: .utf8)
        let after = runningPIDs(try await agent.waitForProcesses("b restarted with a new pid") { processes in
            let pids = runningPIDs(processes)
            return pids["b"] != nil && pids["b"] != before["b"]
        })
        #expect(after["a"] == before["a"])
        #expect(after["c"] == before["c"])
        #expect(!processExists(Int32(before["b"]!)))
        #expect(try await agent.metric(#"procmgr_restarts_total{process="b",reason="config"}"#) == 1)
        #expect(try await agent.metric(#"procmgr_restarts_total{process="a",reason="config"}"#) == nil)
        #expect(try await agent.metric(#"procmgr_config_reloads_total{result="success"}"#).map { $0 >= 2 } == true)
    }

    @Test("an invalid config is rejected whole: every process keeps running untouched")
    func invalidReloadKeepsRunning() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try Self.config(stateDir: directory + "/state", processes: [("a", ""), ("b", "")]).write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 })

        // Removes b and changes a, but one field is invalid: nothing of it may be applied.
        let invalid = Self.config(stateDir: directory + "/state", processes: [("a", "    heartbeat: { interval: 10x }")])
        try invalid.write(toFile: file, atomically: true, encoding: .utf8)
        let reply = try await agent.request("/-/reload", method: .POST)
        #expect(reply.status == 422)
        #expect(reply.text.contains(#"processes[0].heartbeat.interval: \"10x\" is not a duration"#), "\(reply.text)")
        #expect(try await agent.metric(#"procmgr_config_reloads_total{result="failure"}"#).map { $0 >= 1 } == true)
        #expect(try await agent.metric(#"procmgr_errors_total{process="",phase="config"}"#).map { $0 >= 1 } == true)
        let after = runningPIDs(try await agent.processes())
        #expect(after == before)
        for pid in before.values { #expect(processExists(Int32(pid))) }
        #expect(try await agent.request("/healthz").status == 200)
    }

    @Test("SIGHUP applies additions and removals; a removed process is stopped and forgotten")
    func sighupAddsAndRemoves() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try Self.config(stateDir: directory + "/state", processes: [("a", ""), ("b", "")]).write(toFile: file, atomically: true, encoding: .utf8)
        // No file watcher: only the SIGHUP can apply the change.
        let agent = try await AgentProcess.start(["--config", file, "--no-watch-config"])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 })

        try Self.config(stateDir: directory + "/state", processes: [("a", ""), ("d", "")]).write(toFile: file, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        let after = try await agent.waitForProcesses("d running and b gone") { processes in
            runningPIDs(processes)["d"] != nil && processes["b"] == nil
        }
        #expect(runningPIDs(after)["a"] == before["a"])
        try await eventually("b's program is gone") { !processExists(Int32(before["b"]!)) }
        #expect(try await agent.metric(#"procmgr_state_transitions_total{process="b",state="running"}"#) == nil)
    }

    @Test("a changed env file (in another directory) restarts only the process that reads it")
    func envFileChangeRestartsItsReader() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try FileManager.default.createDirectory(atPath: directory + "/env", withIntermediateDirectories: false)
        try "MODE=one\n".write(toFile: directory + "/env/b.env", atomically: true, encoding: .utf8)
        try Self.config(stateDir: directory + "/state", processes: [("a", ""), ("b", "    env_file: env/b.env")])
            .write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 })

        // Only the env file changes: the config file is untouched.
        try "MODE=two\n".write(toFile: directory + "/env/b.env", atomically: false, encoding: .utf8)
        let after = runningPIDs(try await agent.waitForProcesses("b restarted with a new pid") { processes in
            let pids = runningPIDs(processes)
            return pids["b"] != nil && pids["b"] != before["b"]
        })
        #expect(after["a"] == before["a"])
        #expect(try await agent.metric(#"procmgr_restarts_total{process="b",reason="config"}"#) == 1)
        // Polled: /proc/PID/environ reads empty while the shell's exec of sleep swaps the memory.
        try await eventually("b runs with the env file's new value") {
            let environment = try? String(contentsOfFile: "/proc/\(after["b"] ?? 0)/environ", encoding: .utf8)
            return environment?.split(separator: "\0").contains("MODE=two") == true
        }
    }
}
