import Foundation
import ProcmgrMetrics
import Synchronization
import Testing

/// The real Prometheus parser and linter accept a large, realistic exposition.
///
/// promtool comes from Debian's `prometheus` package. Without it the test is
/// skipped — unless `CI` is set, where it runs and fails loudly instead.
@Suite struct PromtoolTests {
    static let promtool = "/usr/bin/promtool"
    static let available = FileManager.default.isExecutableFile(atPath: promtool)
    static let required = ProcessInfo.processInfo.environment["CI"] != nil

    @Test(.enabled(if: available || required, "promtool is not installed (apt-get install prometheus); required when CI is set"))
    func promtoolAcceptsALargeExposition() async throws {
        try #require(Self.available, "CI is set but \(Self.promtool) is missing")
        let registry = MetricsRegistry()
        try ProcessSelfMetrics.register(in: registry)
        try populate(registry)
        let text = registry.exposition()
        #expect(text.utf8.count > 200_000)

        let (status, output) = try await runPromtool(input: Data(text.utf8))
        #expect(status == 0, "promtool exited \(status)")
        #expect(output.isEmpty, "promtool said: \(output)")
    }

    @Test(.enabled(if: available || required, "promtool is not installed"))
    func promtoolRejectsBrokenInput() async throws {
        try #require(Self.available)
        // Proves the check above is meaningful: an unescaped quote is an error.
        let (status, _) = try await runPromtool(input: Data("# TYPE x gauge\nx{a=\"b\"c\"} 1\n".utf8))
        #expect(status != 0)
    }

    /// 200 supervised processes, several families each, nasty label values.
    private func populate(_ registry: MetricsRegistry) throws {
        let up = try registry.gaugeFamily(name: "procmgr_process_up", help: "Whether the process is running (1) or not (0).", labelNames: ["process"])
        let restarts = try registry.counterFamily(name: "procmgr_process_restarts_total", help: "Restarts of the process, by reason.\nSecond line with a \\ backslash.", labelNames: ["process", "reason"])
        let state = try registry.gaugeFamily(name: "procmgr_process_state", help: "Current lifecycle state, one series per state.", labelNames: ["process", "state"])
        let startLatency = try registry.histogramFamily(name: "procmgr_process_start_duration_seconds", help: "Time from spawn to running.", labelNames: ["process"])
        let exitCodes = try registry.counterFamily(name: "procmgr_process_exits_total", help: "Exits by code.", labelNames: ["process", "code"])
        let memory = try registry.gaugeFamily(name: "procmgr_process_resident_memory_bytes", help: "RSS of the process.", labelNames: ["process"])
        let sizes = try registry.histogramFamily(name: "procmgr_log_line_bytes", help: "Log line sizes.", labelNames: ["process", "stream"], buckets: HistogramBuckets.exponential(start: 16, factor: 4, count: 8))
        let sync = try registry.histogram(name: "procmgr_sync_duration_seconds", help: "One sync loop iteration.")
        try registry.counter(name: "procmgr_syncs_total", help: "Sync loop iterations.").increment(by: 12_345)

        let nasty = ["plain", #"back\slash"#, #"quo"te"#, "new\nline", "ünïcödé 日本 🎉", "", "{},= spaces", "tab\tcr\r"]
        for index in 0..<200 {
            let process = "\(nasty[index % nasty.count])-\(index)"
            up.labels(process).set(index.isMultiple(of: 7) ? 0 : 1)
            restarts.labels(process, "crash").increment(by: index)
            restarts.labels(process, "oom \"killed\"").increment(by: Double(index) / 3)
            for candidate in ["pending", "running", "backoff", "stopped"] {
                state.labels(process, candidate).set(candidate == "running" ? 1 : 0)
            }
            startLatency.labels(process).observe(Double(index) / 97)
            startLatency.labels(process).observe(.milliseconds(index * 13))
            exitCodes.labels(process, "\(index % 3)").increment()
            memory.labels(process).set(Double(index) * 1_048_576.5)
            sizes.labels(process, "stdout").observe(Double(index * 31))
            sizes.labels(process, "stderr").observe(1e9)
            sync.observe(Double(index) * 1e-6)
        }
    }

    /// Runs `promtool check metrics` on `input` through a shell that records promtool's exit
    /// status and output in files. The status is not taken from `Process`: this test binary also
    /// hosts the process runtime's tests, whose exit watcher (like the agent's) reaps every
    /// child of the process, so `Process.terminationStatus` may never see the real one.
    private func runPromtool(input: Data) async throws -> (Int32, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("promtool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("input.prom")
        let outputFile = directory.appendingPathComponent("output.txt")
        let statusFile = directory.appendingPathComponent("status")
        try input.write(to: inputFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" check metrics < \"$1\" > \"$2\" 2>&1; echo $? > \"$3.tmp\" && mv \"$3.tmp\" \"$3\"",
                             Self.promtool, inputFile.path, outputFile.path, statusFile.path]
        try process.run()
        // Polled, not `waitUntilExit()`: a blocking wait would hold one of the few cooperative
        // threads every concurrently running test needs for its timers.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while !FileManager.default.fileExists(atPath: statusFile.path) {
            try #require(ContinuousClock.now < deadline, "promtool did not finish within 60 s")
            try await Task.sleep(for: .milliseconds(10))
        }
        let statusText = try String(contentsOf: statusFile, encoding: .utf8)
        let status = try #require(Int32(statusText.trimmingCharacters(in: .whitespacesAndNewlines)), "bad status file: \(statusText)")
        return (status, try String(contentsOf: outputFile, encoding: .utf8))
    }
}
