import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The client verbs (`restart`, `stop`, `scale`, `reload`, `logs`, `status`) as an operator or a
/// script runs them: the real binary against a real agent, asserting the effect on the processes
/// and the exit codes scripts rely on (0 done, 2 usage, 3 unreachable, 4 unknown process,
/// 5 token refused, 6 action refused).
@Suite(.timeLimit(.minutes(3)))
struct ClientCommandTests {
    /// Its own port range: agents of other tests run at the same time.
    static func config(directory: String, extraAgent: String = "", solo: String = "") -> String {
        """
        agent:
          state_dir: \(directory)/state
          ports: { range: "32700-32799" }
        \(extraAgent)
        processes:
          - id: web
            command: ["sh", "-c", "exec sleep 600"]
            grace_period: 2s
            replicas: 2
          - id: solo
            command: ["sh", "-c", "echo hello; echo oops >&2; exec sleep 600"]
            grace_period: 2s
        \(solo)

        """
    }

    private static func start(extraAgent: String = "", arguments: [String] = []) async throws -> (AgentProcess, String, String) {
        let directory = try makeTemporaryDirectory()
        let file = directory + "/procmgr.yaml"
        try config(directory: directory, extraAgent: extraAgent).write(toFile: file, atomically: true, encoding: .utf8)
        return (try await AgentProcess.start(["--config", file] + arguments), directory, file)
    }

    private static func replicas(_ processes: [String: [String: Any]]) -> Set<String> {
        Set(processes.keys.filter { $0.hasPrefix("web.") })
    }

    @Test("restart changes the pid, stop stops, scale changes the replica count, logs print the output; exit 0")
    func actions() async throws {
        let (agent, directory, _) = try await Self.start()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let before = runningPIDs(try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 })
        let url = ["--agent", agent.baseURL]

        let restart = try await ClientCommand.run(["restart", "solo"] + url)
        #expect(restart.status == .exited(code: 0), "\(restart)")
        try await agent.waitForProcesses("solo running with a new pid") { runningPIDs($0)["solo"].map { $0 != before["solo"] } ?? false }

        let stop = try await ClientCommand.run(["stop", "web.1"] + url)
        #expect(stop.status == .exited(code: 0), "\(stop)")
        try await agent.waitForProcesses("web.1 finished") { $0["web.1"]?["state"] as? String == "finished" }
        #expect(!processExists(Int32(try #require(before["web.1"]))))

        let scale = try await ClientCommand.run(["scale", "web", "--replicas", "4"] + url)
        #expect(scale.status == .exited(code: 0), "\(scale)")
        try await agent.waitForProcesses("four replicas") { Self.replicas($0) == ["web.0", "web.1", "web.2", "web.3"] }

        try await eventually("both runs of solo in its log", timeout: .seconds(20)) {
            try await agent.request("/api/v1/processes/solo/logs").text.components(separatedBy: "oops").count == 3
        }
        let logs = try await ClientCommand.run(["logs", "solo", "--tail", "10"] + url)
        #expect(logs.status == .exited(code: 0), "\(logs)")
        // Both streams on stdout, no marker through a pipe; two runs of solo by now.
        #expect(logs.stdout.filter { $0 == "hello" }.count == 2, "\(logs)")
        #expect(logs.stdout.filter { $0 == "oops" }.count == 2, "\(logs)")

        let status = try await ClientCommand.run(["status"] + url)
        #expect(status.status == .exited(code: 0), "\(status)")
        #expect(status.stdout.contains { $0.hasPrefix("web.3 ") }, "\(status)")
    }

    @Test("unknown process: exit 4 with the agent's message, for every verb")
    func unknownProcess() async throws {
        let (agent, directory, _) = try await Self.start()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let url = ["--agent", agent.baseURL]
        for verb in [["restart", "nope"], ["stop", "nope"], ["scale", "nope", "--replicas", "2"], ["logs", "nope"]] {
            let outcome = try await ClientCommand.run(verb + url)
            #expect(outcome.status == .exited(code: 4), "\(verb): \(outcome)")
            #expect(outcome.stderr.count == 1 && outcome.stderr[0].hasPrefix("procmgr: ") && outcome.stderr[0].contains(#""nope""#), "\(verb): \(outcome)")
        }
    }

    @Test("reload of a broken config: exit 6 and every problem on its own line; the old config keeps running")
    func rejectedReload() async throws {
        let (agent, directory, file) = try await Self.start(arguments: ["--no-watch-config"])
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let before = runningPIDs(try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 })
        let broken = Self.config(directory: directory, solo: "    heartbeat: { interval: 10x }\n    restart: sometimes")
        try broken.write(toFile: file, atomically: true, encoding: .utf8)

        let outcome = try await ClientCommand.run(["reload", "--agent", agent.baseURL])
        #expect(outcome.status == .exited(code: 6), "\(outcome)")
        #expect(outcome.stderr.first?.hasPrefix("procmgr: the agent rejected the new config") == true, "\(outcome)")
        #expect(outcome.stderr.contains { $0.hasPrefix(#"processes[1].heartbeat.interval: "10x" is not a duration"#) }, "\(outcome)")
        #expect(outcome.stderr.contains { $0.hasPrefix("processes[1].restart: ") }, "\(outcome)")
        #expect(runningPIDs(try await agent.processes()) == before)

        try Self.config(directory: directory).write(toFile: file, atomically: true, encoding: .utf8)
        let fixed = try await ClientCommand.run(["reload", "--agent", agent.baseURL])
        #expect(fixed.status == .exited(code: 0), "\(fixed)")
    }

    @Test("a token: none or a wrong one exits 5; --token-file, or --config alone, reach the agent")
    func token() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freeLoopbackPort()
        let tokenFile = directory + "/token"
        let wrongFile = directory + "/wrong"
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try "guess\n".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        let file = directory + "/procmgr.yaml"
        try Self.config(directory: directory, extraAgent: "  listen: 127.0.0.1:\(port)\n  token_file: token")
            .write(toFile: file, atomically: true, encoding: .utf8)
        // The config's listen address, so that `--config` alone finds the agent.
        let agent = try await AgentProcess.start(["--config", file, "--listen", "127.0.0.1:\(port)"])
        defer { Task { await agent.kill() } }
        #expect(agent.baseURL == "http://127.0.0.1:\(port)")
        let before = runningPIDs(try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 })

        let none = try await ClientCommand.run(["restart", "solo", "--agent", agent.baseURL])
        #expect(none.status == .exited(code: 5), "\(none)")
        #expect(none.stderr == ["procmgr: missing or wrong bearer token"], "\(none)")
        let wrong = try await ClientCommand.run(["restart", "solo", "--agent", agent.baseURL, "--token-file", wrongFile])
        #expect(wrong.status == .exited(code: 5), "\(wrong)")
        // The flag wins over the config's token file.
        let wrongOverConfig = try await ClientCommand.run(["restart", "solo", "--config", file, "--token-file", wrongFile])
        #expect(wrongOverConfig.status == .exited(code: 5), "\(wrongOverConfig)")
        #expect(runningPIDs(try await agent.processes())["solo"] == before["solo"])

        let right = try await ClientCommand.run(["restart", "solo", "--agent", agent.baseURL, "--token-file", tokenFile])
        #expect(right.status == .exited(code: 0), "\(right)")
        let first = try await agent.waitForProcesses("solo restarted") { runningPIDs($0)["solo"].map { $0 != before["solo"] } ?? false }

        // Listen address and token, both from the config (run from elsewhere: the token path is
        // relative to the config file).
        let byConfig = try await ClientCommand.run(["restart", "solo", "--config", file])
        #expect(byConfig.status == .exited(code: 0), "\(byConfig)")
        try await agent.waitForProcesses("solo restarted again") { runningPIDs($0)["solo"].map { $0 != runningPIDs(first)["solo"] } ?? false }
        let status = try await ClientCommand.run(["status", "--config", file])
        #expect(status.status == .exited(code: 0), "\(status)")
    }

    @Test("no agent at the address: exit 3, saying so")
    func unreachable() async throws {
        // A port held refusing: a merely free one may be another parallel test's agent by now.
        try await withRefusingLoopbackPort { port in
            for verb in [["restart", "web"], ["status"], ["logs", "web"], ["logs", "-f", "web"], ["events"], ["reload"]] {
                let outcome = try await ClientCommand.run(verb + ["--agent", "http://127.0.0.1:\(port)"])
                #expect(outcome.status == .exited(code: 3), "\(verb): \(outcome)")
                #expect(outcome.stderr.first?.hasPrefix("procmgr: cannot reach the agent at http://127.0.0.1:\(port)") == true, "\(verb): \(outcome)")
            }
        }
    }

    @Test("usage errors exit 2 with a precise message, before anything is sent", arguments: [
        (["scale", "web", "--replicas", "5000"], "--replicas must be from 0 to 1000, not 5000"),
        (["scale", "web"], "Missing expected argument '--replicas <n>'"),
        (["logs", "--tail", "0", "web"], "--tail must be from 1 to 10000, not 0"),
        (["restart", "web", "--agent", "localhost:9464"], #"--agent "localhost:9464" is not an http:// or https:// URL"#),
        (["restart", "web", "--token-file", "/nonexistent/token"], "the token file /nonexistent/token cannot be read"),
        (["stop", "web", "--config", "/nonexistent/procmgr.yaml"], "--config /nonexistent/procmgr.yaml cannot be used"),
        (["restart"], "Missing expected argument '<id>'"),
        (["restart", "web", "--frobnicate"], "Unknown option '--frobnicate'"),
    ])
    func usage(_ arguments: [String], _ message: String) async throws {
        let outcome = try await ClientCommand.run(arguments)
        #expect(outcome.status == .exited(code: 2), "\(outcome)")
        #expect(outcome.stderr.contains { $0.contains(message) }, "\(outcome)")
    }
}
