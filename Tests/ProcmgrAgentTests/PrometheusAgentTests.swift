import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// A real Prometheus (Debian's, installed by `.ci/run`) scrapes a real `procmgr run` every second
/// and reports the target `up` with the agent's samples: a real scraper accepts our gzip, content
/// type and format, and sees the processes the agent runs.
@Suite(.timeLimit(.minutes(3)))
struct PrometheusAgentTests {
    static let binary = "/usr/bin/prometheus"

    @Test("Prometheus scrapes the agent: target up, procmgr_processes{state=\"running\"} = 2")
    func scrapedByPrometheus() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "\(Self.binary) is missing: run .ci/run (it installs Debian's prometheus)")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try """
        agent:
          state_dir: \(directory)/state
        processes:
          - { id: one, command: ["sleep", "600"] }
          - { id: two, command: ["sleep", "600"] }
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 }
        let target = String(agent.baseURL.dropFirst("http://".count))

        let prometheus = try await LocalPrometheus.start(directory: directory + "/prometheus", scrapeTarget: target)
        defer { Task { await prometheus.stop() } }
        let up = try await prometheus.waitForValue(#"up{job="procmgr"}"#) { $0 == 1 }
        #expect(up == 1)
        let running = try await prometheus.waitForValue(#"procmgr_processes{state="running"}"#) { $0 == 2 }
        #expect(running == 2)
        // Prometheus asks for gzip; the agent's own counter shows the scrapes were served.
        let scrapes = try await prometheus.waitForValue(#"sum(procmgr_http_requests_total{handler="/metrics"})"#) { $0 >= 1 }
        #expect(scrapes >= 1)
    }
}

/// A Prometheus server on loopback with a 1 s scrape interval, spawned as a tracked child.
struct LocalPrometheus {
    let process: SpawnedProcess
    let port: Int
    let directory: String

    static func start(directory: String, scrapeTarget: String, ruleFiles: [String] = [], extraConfig: String = "") async throws -> LocalPrometheus {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let rules = ruleFiles.isEmpty ? "" : "rule_files:\n" + ruleFiles.map { "  - \($0)\n" }.joined()
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        \(rules)
        scrape_configs:
          - job_name: procmgr
            static_configs:
              - targets: ['\(scrapeTarget)']
        \(extraConfig)
        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let runtime = AgentTestRuntime.shared
        let process = try await runtime.spawner.spawn(SpawnSpec(
            arguments: [PrometheusAgentTests.binary, "--config.file", directory + "/prometheus.yml",
                        "--storage.tsdb.path", directory + "/data", "--web.listen-address", "127.0.0.1:\(port)"],
            environment: ProcessInfo.processInfo.environment, captureOutput: false, killWithParent: true))
        return LocalPrometheus(process: process, port: port, directory: directory)
    }

    func stop() async {
        kill(process.pid, SIGKILL)
        _ = await process.exit.wait(timeout: .seconds(10))
    }

    /// Polls an instant query until its first sample satisfies `accept`; fails loudly with the
    /// last answer.
    func waitForValue(_ query: String, timeout: Duration = .seconds(60), accept: (Double) -> Bool) async throws -> Double {
        var last = "no answer yet"
        var found: Double?
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        try await eventually("an acceptable sample for \(query); last: \(last)", timeout: timeout, every: .milliseconds(250)) {
            if process.exit.value != nil { throw AgentTestFailure("prometheus exited while waiting for \(query)") }
            do {
                let reply = try await AgentProcess.get(url: "http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)")
                last = reply.text
                if let body = try reply.json() as? [String: Any], let data = body["data"] as? [String: Any],
                   let result = (data["result"] as? [[String: Any]])?.first,
                   let value = result["value"] as? [Any], value.count == 2,
                   let text = value[1] as? String, let number = Double(text), accept(number) {
                    found = number
                }
            } catch {
                last = "\(error)"
            }
            return found != nil
        }
        guard let found else { throw AgentTestFailure("no sample for \(query)") }
        return found
    }
}

