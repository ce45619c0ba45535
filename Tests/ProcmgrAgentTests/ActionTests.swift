import Foundation
import Glibc
import NIOHTTP1
import ProcmgrRuntime
import Testing

/// The agent's API actions and lookups against real children: stop stays stopped across a
/// reload, restart starts anew, routes list the replicas of a hostname, `procmgr status` prints
/// the table, and bad requests get a 4xx while everything keeps running.
@Suite(.timeLimit(.minutes(3)))
struct ActionTests {
    static let config = """
    processes:
      - id: api-1
        command: ["sleep", "600"]
        port: auto
        hostnames: [api.test]
      - id: api-2
        command: ["sleep", "600"]
        port: auto
        hostnames: [api.test]
      - id: other
        command: ["sleep", "600"]
        hostnames: [other.test]
    """

    static func start() async throws -> (AgentProcess, String, String) {
        let directory = try makeTemporaryDirectory()
        let file = directory + "/procmgr.yaml"
        try ("agent:\n  state_dir: \(directory)/state\n" + config).write(toFile: file, atomically: true, encoding: .utf8)
        return (try await AgentProcess.start(["--config", file]), directory, file)
    }

    @Test("stop keeps a process stopped across reloads; restart starts it again with a new pid")
    func stopAndRestart() async throws {
        let (agent, directory, file) = try await Self.start()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let before = runningPIDs(try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 })

        #expect(try await agent.request("/api/v1/processes/api-1/stop", method: .POST).status == 200)
        try await agent.waitForProcesses("api-1 finished") { $0["api-1"]?["state"] as? String == "finished" }
        #expect(!processExists(Int32(before["api-1"]!)))
        // An unchanged config (here only a comment added) does not bring it back.
        try (String(contentsOfFile: file, encoding: .utf8) + "\n# touched\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        #expect(try await agent.processes()["api-1"]?["state"] as? String == "finished")

        #expect(try await agent.request("/api/v1/processes/api-1/restart", method: .POST).status == 200)
        let after = runningPIDs(try await agent.waitForProcesses("api-1 running again") { runningPIDs($0)["api-1"] != nil })
        #expect(after["api-1"] != before["api-1"])
        #expect(after["api-2"] == before["api-2"])

        // A running program restarted through the API: new pid, counted as manual.
        #expect(try await agent.request("/api/v1/processes/api-2/restart", method: .POST).status == 200)
        try await agent.waitForProcesses("api-2 restarted") { runningPIDs($0)["api-2"].map { $0 != before["api-2"] } ?? false }
        #expect(try await agent.metric(#"procmgr_restarts_total{process="api-2",reason="manual"}"#) == 1)
    }

    @Test("routes list every healthy replica of a hostname; unknown hosts get none")
    func routes() async throws {
        let (agent, directory, _) = try await Self.start()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let processes = try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 }
        let ports = ["api-1", "api-2"].compactMap { processes[$0]?["port"] as? Int }
        #expect(ports.count == 2 && ports[0] != ports[1])
        let reply = try await agent.request("/api/v1/routes?host=API.test")
        let body = try #require(try reply.json() as? [String: Any])
        #expect(Set(body["endpoints"] as? [String] ?? []) == Set(ports.map { "127.0.0.1:\($0)" }))
        let none = try #require(try await agent.request("/api/v1/routes?host=nobody.test").json() as? [String: Any])
        #expect((none["endpoints"] as? [String])?.isEmpty == true)
        // `other` has no port: nothing to route to.
        let portless = try #require(try await agent.request("/api/v1/routes?host=other.test").json() as? [String: Any])
        #expect((portless["endpoints"] as? [String])?.isEmpty == true)
    }

    @Test("bad requests get a 4xx with a JSON error; the processes are untouched")
    func badRequests() async throws {
        let (agent, directory, _) = try await Self.start()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let before = runningPIDs(try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 })
        let cases: [(String, HTTPMethod, Int)] = [
            ("/api/v1/processes/nope", .GET, 404),
            ("/api/v1/processes/nope/stop", .POST, 404),
            ("/api/v1/processes/nope/restart", .POST, 404),
            ("/api/v1/processes/nope/logs", .GET, 404),
            ("/api/v1/processes/api-1/stop", .GET, 405),
            ("/api/v1/processes/api-1/logs?tail=abc", .GET, 400),
            ("/nothing-here", .GET, 404),
        ]
        for (path, method, expected) in cases {
            let reply = try await agent.request(path, method: method)
            #expect(reply.status == expected, "\(method) \(path): \(reply.status) \(reply.text)")
            #expect((try? reply.json() as? [String: Any])?["error"] != nil, "\(method) \(path): \(reply.text)")
        }
        let oversized = try await agent.request("/-/reload", method: .POST, body: String(repeating: "x", count: 200_000))
        #expect(oversized.status == 413)
        #expect(runningPIDs(try await agent.processes()) == before)
    }

    @Test("logs return the program's stdout and stderr lines in order per stream, honouring tail")
    func logs() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try """
        agent:
          state_dir: \(directory)/state
        processes:
          - id: talker
            command: ["sh", "-c", "echo one; echo two >&2; echo three; exec sleep 600"]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        try await agent.waitForLogLine("three")
        let all = try #require(try await agent.request("/api/v1/processes/talker/logs").json() as? [String: Any])
        let lines = try #require(all["lines"] as? [[String: String]])
        // Two pipes: the order within a stream is kept, the interleaving between them is not defined.
        #expect(lines.filter { $0["stream"] == "stdout" }.map { $0["text"] ?? "" } == ["one", "three"])
        #expect(lines.filter { $0["stream"] == "stderr" }.map { $0["text"] ?? "" } == ["two"])
        let tail = try #require(try await agent.request("/api/v1/processes/talker/logs?tail=2").json() as? [String: Any])
        #expect((tail["lines"] as? [[String: String]]).map { Array($0) } == Array(lines.suffix(2)))
    }

    @Test("procmgr status prints one row per process from the running agent")
    func statusTable() async throws {
        let (agent, directory, _) = try await Self.start()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let processes = try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 }
        let lines = try await runCommand([try procmgrPath(), "status", "--agent", agent.baseURL])
        #expect(lines.first?.hasPrefix("ID") == true)
        for id in ["api-1", "api-2", "other"] {
            let row = try #require(lines.first { $0.hasPrefix(id + " ") })
            #expect(row.contains("running"))
            #expect(row.contains(String(processes[id]!["pid"] as! Int)))
        }
        let unreachable = try await runCommand([try procmgrPath(), "status", "--agent", "http://127.0.0.1:1"], expectSuccess: false)
        #expect(unreachable.contains { $0.contains("cannot reach the agent at http://127.0.0.1:1") }, "\(unreachable)")
    }
}

/// Runs a command to completion, returning its output lines; fails loudly on a timeout or an
/// unexpected exit status.
func runCommand(_ arguments: [String], expectSuccess: Bool = true) async throws -> [String] {
    let runtime = AgentTestRuntime.shared
    let process = try await runtime.spawner.spawn(SpawnSpec(arguments: arguments, environment: ProcessInfo.processInfo.environment, captureOutput: true))
    let lines = LockedLines()
    let capture = try runtime.capture.attach(name: arguments[0], stdout: process.stdoutFD, stderr: process.stderrFD) { lines.append($0.text) }
    guard let status = await process.exit.wait(timeout: .seconds(30)) else {
        kill(process.pid, SIGKILL)
        throw AgentTestFailure("\(arguments) did not finish within 30 s")
    }
    _ = await capture.waitUntilFinished(timeout: .seconds(10))
    if expectSuccess, status != .exited(code: 0) {
        throw AgentTestFailure("\(arguments) ended with \(status): \(lines.all)")
    }
    return lines.all
}
