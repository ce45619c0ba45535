import Foundation
import Hummingbird
import Logging
import ProcmgrHTTP
import ProcmgrMetrics
import ServiceLifecycle

/// The two halves of `bench/compare-metrics.sh`, which measures our server and client_golang's
/// with one client and reads each server's CPU from /proc:
///
///     http-bench serve --processes N         prints "port P", serves until SIGTERM
///     http-bench scrape --port P --pid PID --requests R [--warmup W]
///
/// `scrape` prints one line per encoding (identity, then gzip):
/// `identity bytes=… p50_ms=… p99_ms=… cpu_ms_per_scrape=… requests=…`, where the CPU is the
/// server's utime+stime delta over the measured requests divided by their number.
enum PeerMode {
    static func serve(processes: Int) async throws {
        let registry = try SyntheticAgent.registry(processes: processes)
        var logger = Logger(label: "http-bench")
        logger.logLevel = .warning
        let app = try AgentHTTPServer.makeApplication(
            configuration: APIServerConfiguration(host: "127.0.0.1", port: 0),
            backend: SyntheticBackend(registry: registry, events: try EventJournal(registry: nil)), registry: registry, logger: logger,
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("port \(channel.localAddress?.port ?? 0)\n".utf8))
            })
        let services = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await services.run()
    }

    static func scrape(port: Int, pid: Int?, requests: Int, warmup: Int) throws {
        let client = try LoopbackHTTPClient(port: port)
        let clock = ContinuousClock()
        for (name, headers) in [("identity", [(String, String)]()), ("gzip", [("Accept-Encoding", "gzip")])] {
            let expectGzip = !headers.isEmpty
            func get() throws -> LoopbackHTTPClient.Response {
                let response = try client.get("/metrics", headers: headers)
                guard response.status == 200, (response.headers["content-encoding"] == "gzip") == expectGzip else {
                    throw LoopbackHTTPClient.Failure(description: "unexpected response \(response.status) \(response.headers)")
                }
                return response
            }
            for _ in 0..<warmup { _ = try get() }
            var samples: [Duration] = []
            var bytes = 0
            let cpuBefore = try pid.map(cpuSeconds)
            for _ in 0..<requests {
                let start = clock.now
                bytes = try get().bodyBytes
                samples.append(clock.now - start)
            }
            let cpuAfter = try pid.map(cpuSeconds)
            let percentiles = Percentiles(samples)
            var cpu = "n/a"
            if let before = cpuBefore, let after = cpuAfter {
                cpu = String(format: "%.3f", (after - before) / Double(requests) * 1e3)
            }
            print(name, "bytes=\(bytes)", "p50_ms=\(percentiles.p50.milliseconds.dropLast(2))",
                  "p99_ms=\(percentiles.p99.milliseconds.dropLast(2))",
                  "cpu_ms_per_scrape=\(cpu)", "requests=\(requests)")
        }
    }

    /// utime + stime of every thread of `pid`, in seconds (fields 14 and 15 of /proc/PID/stat).
    static func cpuSeconds(pid: Int) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The command name (field 2) may contain spaces; the fields after its ")" are fixed.
        guard let close = stat.lastIndex(of: ")") else { throw LoopbackHTTPClient.Failure(description: "bad /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw LoopbackHTTPClient.Failure(description: "bad /proc/\(pid)/stat")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
