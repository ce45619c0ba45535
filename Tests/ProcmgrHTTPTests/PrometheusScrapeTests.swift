import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport
import ProcmgrTestKit
import ServiceLifecycle
import Testing

/// A real Prometheus scrapes the server: proof that a real scraper accepts our
/// gzip, our content type and our text format, not just our own parser.
@Suite("Scraped by a real Prometheus", .serialized, .timeLimit(.minutes(2)))
struct PrometheusScrapeTests {
    static let binary = "/usr/bin/prometheus"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static var onCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    /// Generous: Prometheus takes a second or two to start, then scrapes every second.
    static let deadline = Duration.seconds(60)

    @Test(
        "Prometheus reports the target up and stores the sample",
        .enabled(if: installed || onCI, "prometheus is not installed (apt-get install prometheus); CI=1 makes this a failure"))
    func realScrape() async throws {
        try #require(Self.installed, "\(Self.binary) is missing but CI is set: install Debian's prometheus package")

        let registry = MetricsRegistry()
        try registry.gaugeFamily(name: "procmgr_processes", help: "Processes by state.", labelNames: ["state"])
            .labels("running").set(3)
        let backend = FakeBackend { registry.writeExposition(into: &$0) }
        try await withServedAPI(backend: backend, registry: registry) { port in
            let prometheus = try PrometheusProcess(targetPort: port)
            defer { prometheus.stop() }
            try await scrapeChecks(prometheus, registry: registry)
        }
    }

    private func scrapeChecks(_ prometheus: PrometheusProcess, registry: MetricsRegistry) async throws {
        do {
            try await prometheus.waitForTargetUp(deadline: Self.deadline)
            let sample = try await prometheus.waitForSample(query: "procmgr_processes", deadline: Self.deadline)
            #expect(sample.labels["state"] == "running")
            #expect(sample.labels["job"] == "procmgr")
            #expect(sample.value == "3")
            // Histograms and the API's own series parse too.
            let count = try await prometheus.waitForSample(
                query: #"procmgr_http_request_duration_seconds_count{handler="/metrics"}"#, deadline: Self.deadline)
            #expect(Double(count.value).map { $0 >= 1 } == true)
        } catch {
            Issue.record("Prometheus log:\n\(prometheus.log())")
            throw error
        }
        // Prometheus asks for gzip; the server must have answered with it.
        let gzipBytes = samples(registry.exposition())[#"procmgr_metrics_scrape_bytes{encoding="gzip"}"#]
        #expect(gzipBytes.flatMap(Double.init).map { $0 > 0 } == true, "Prometheus was never served gzip")
    }
}

/// A Prometheus child process with its own config and storage in a temp dir,
/// listening on a free loopback port; `stop()` kills it and removes the dir.
final class PrometheusProcess: Sendable {
    struct Sample {
        let labels: [String: String]
        let value: String
    }

    struct Timeout: Error, CustomStringConvertible {
        let description: String
    }

    let apiPort: Int
    /// Why the last API call failed, for the timeout message.
    private let lastProblem = LockedState("no attempt yet")
    private let directory: URL
    private let process: Process

    init(targetPort: Int) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("procmgr-prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: procmgr
                static_configs:
                  - targets: ['127.0.0.1:\(targetPort)']
            """
        let configFile = directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)

        apiPort = try freeLoopbackPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: PrometheusScrapeTests.binary)
        process.arguments = [
            "--config.file", configFile.path,
            "--storage.tsdb.path", directory.appendingPathComponent("data").path,
            "--web.listen-address", "127.0.0.1:\(apiPort)",
        ]
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// SIGKILL without waiting: a blocking `waitUntilExit()` would hold a cooperative thread
    /// (Prometheus takes seconds to shut down cleanly) and stall every other test's timers.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("prometheus.log"), encoding: .utf8)) ?? "(no log)"
    }

    /// Polls `/api/v1/targets` until our one target reports `up`.
    func waitForTargetUp(deadline: Duration) async throws {
        try await poll(deadline: deadline, what: { "target up" }) {
            guard let body = await self.get("/api/v1/targets"),
                let data = body["data"] as? [String: Any],
                let targets = data["activeTargets"] as? [[String: Any]], let target = targets.first
            else { return false }
            lastProblem.withLock { $0 = "health \(target["health"] ?? "?"), lastError \(target["lastError"] ?? "?")" }
            return target["health"] as? String == "up"
        }
    }

    /// Polls an instant query until it returns a sample.
    func waitForSample(query: String, deadline: Duration) async throws -> Sample {
        var found: Sample?
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        try await poll(deadline: deadline, what: { "a sample for \(query)" }) {
            guard let body = await self.get("/api/v1/query?query=\(encoded)"),
                let data = body["data"] as? [String: Any],
                let result = (data["result"] as? [[String: Any]])?.first,
                let metric = result["metric"] as? [String: String],
                let value = result["value"] as? [Any], value.count == 2, let text = value[1] as? String
            else { return false }
            found = Sample(labels: metric, value: text)
            return true
        }
        return try #require(found)
    }

    /// `condition` until true (``eventually``), ending at once if Prometheus exited.
    private func poll(deadline: Duration, what: () -> String, _ condition: () async throws -> Bool) async throws {
        try await eventually("\(what()); last: \(lastProblem.withLock { $0 })", timeout: deadline, every: .milliseconds(250)) {
            guard process.isRunning else {
                throw Timeout(description: "prometheus exited (status \(process.terminationStatus)) while waiting for \(what())")
            }
            return try await condition()
        }
    }

    /// One GET against the Prometheus API; `nil` (and `lastProblem` set) while
    /// it is not answering yet. Go's server insists on a `Host` header.
    private func get(_ path: String) async -> [String: Any]? {
        let port = apiPort
        do {
            let data = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let response = try await client.execute(.init(path, method: .get, authority: "127.0.0.1:\(port)"))
                let body = response.body.map { Data($0.readableBytesView) } ?? Data()
                guard response.status == .ok else {
                    throw Timeout(description: "\(path): \(response.status) \(String(decoding: body, as: UTF8.self))")
                }
                return body
            }
            return try JSONSerialization.jsonObject(with: data) as? [String: Any]
        } catch {
            lastProblem.withLock { $0 = "\(error)" }
            return nil
        }
    }
}
