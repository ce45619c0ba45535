import Foundation
import Testing

/// `cpu_seconds` and `memory_bytes` of the status API (the web page's CPU and memory columns):
/// sampled from the program's process group when asked, the same numbers the metrics export.
@Suite(.timeLimit(.minutes(2)))
struct ResourceViewTests {
    /// `busy` spends some CPU, then idles; `idle` only idles.
    static let config = """
    processes:
      - id: busy
        command: ["sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo spent; exec sleep 600"]
      - id: idle
        command: ["sleep", "600"]
    """

    @Test("a running program shows its group's CPU seconds and resident bytes; a stopped one shows null")
    func cpuAndMemory() async throws {
        let directory = try makeTemporaryDirectory()
        let file = directory + "/procmgr.yaml"
        try ("agent:\n  state_dir: \(directory)/state\n" + Self.config).write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }

        try await agent.waitForLogLine("spent", timeout: .seconds(60))
        let processes = try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 }
        let busy = try #require(processes["busy"])
        let cpu = try #require(busy["cpu_seconds"] as? Double, "\(busy)")
        #expect(cpu >= 0.05, "the loop ran for a while: \(busy)")
        #expect((busy["memory_bytes"] as? Int ?? 0) > 100_000, "\(busy)")
        let idle = try #require(try await agent.request("/api/v1/processes/idle").json() as? [String: Any])
        #expect((idle["memory_bytes"] as? Int ?? 0) > 0, "\(idle)")
        #expect((idle["cpu_seconds"] as? Double ?? -1) >= 0, "\(idle)")

        // The metric is the same sample's value, so it is at least what the API showed before.
        let metric = try #require(try await agent.metric(#"procmgr_child_cpu_seconds_total{process="busy"}"#))
        #expect(metric >= cpu)

        #expect(try await agent.request("/api/v1/processes/idle/stop", method: .POST).status == 200)
        let stopped = try await agent.waitForProcesses("idle finished") { $0["idle"]?["state"] as? String == "finished" }
        #expect(stopped["idle"]?["cpu_seconds"] is NSNull)
        #expect(stopped["idle"]?["memory_bytes"] is NSNull)
    }
}
