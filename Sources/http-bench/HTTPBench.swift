import Foundation
import Hummingbird
import Logging
import ProcmgrHTTP
import ProcmgrMetrics
import ServiceLifecycle

/// `swift run -c release http-bench [--quick]`
///
/// For each size, starts the real API server (port 0, loopback) over a
/// synthetic agent of N processes × 20 series, then scrapes `/metrics` from a
/// blocking socket client on its own thread in the same process: identity and
/// gzip, one keep-alive connection, one request at a time, like a scraper.
/// Prints bytes and p50/p99 latency per size.
///
/// `serve` and `scrape` split the same server and client into two processes for
/// `bench/compare-metrics.sh` (see `PeerMode`).
@main
enum HTTPBench {
    struct Row {
        let processes: Int
        let series: Int
        let identityBytes: Int
        let gzipBytes: Int
        let render: Percentiles
        let identity: Percentiles
        let gzip: Percentiles
        let requests: Int
    }

    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> Int? {
            arguments.firstIndex(of: name).flatMap { arguments.index(after: $0) < arguments.count ? Int(arguments[$0 + 1]) : nil }
        }
        switch arguments.first {
        case "serve":
            return try await PeerMode.serve(processes: option("--processes") ?? 100)
        case "scrape":
            guard let port = option("--port") else { throw LoopbackHTTPClient.Failure(description: "scrape needs --port P") }
            return try PeerMode.scrape(port: port, pid: option("--pid"), requests: option("--requests") ?? 100,
                                       warmup: option("--warmup") ?? 5)
        default:
            break
        }
        let quick = CommandLine.arguments.contains("--quick")
        #if DEBUG
        print("warning: debug build; use `swift run -c release http-bench` for meaningful numbers\n")
        #endif
        var rows: [Row] = []
        for (processes, requests) in [(100, 1000), (1000, 300), (10_000, 60)] {
            rows.append(try await measure(processes: processes, requests: quick ? max(requests / 10, 5) : requests))
        }
        printTable(rows)
    }

    static func measure(processes: Int, requests: Int) async throws -> Row {
        let registry = try SyntheticAgent.registry(processes: processes)
        var logger = Logger(label: "http-bench")
        logger.logLevel = .warning
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = try AgentHTTPServer.makeApplication(
            configuration: APIServerConfiguration(host: "127.0.0.1", port: 0),
            backend: SyntheticBackend(registry: registry, events: try EventJournal(registry: nil)), registry: registry, logger: logger,
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            })
        let services = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw LoopbackHTTPClient.Failure(description: "server did not start") }
            let row: Result<Row, any Error>
            do {
                row = .success(try await onOwnThread { try scrape(port: port, registry: registry, processes: processes, requests: requests) })
            } catch {
                row = .failure(error)
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return try row.get()
        }
    }

    /// The blocking measurement loop; runs off the cooperative pool so it
    /// never competes with the server's tasks for a pool thread.
    static func scrape(port: Int, registry: MetricsRegistry, processes: Int, requests: Int) throws -> Row {
        let client = try LoopbackHTTPClient(port: port)
        let clock = ContinuousClock()
        func run(_ headers: [(String, String)], expectGzip: Bool) throws -> (Percentiles, Int) {
            var samples: [Duration] = []
            var bytes = 0
            for round in 0..<(requests + 5) {
                let start = clock.now
                let response = try client.get("/metrics", headers: headers)
                let elapsed = clock.now - start
                guard response.status == 200, (response.headers["content-encoding"] == "gzip") == expectGzip else {
                    throw LoopbackHTTPClient.Failure(description: "unexpected response \(response.status) \(response.headers)")
                }
                if round >= 5 { samples.append(elapsed) }  // the first few warm the buffers
                bytes = response.bodyBytes
            }
            return (Percentiles(samples), bytes)
        }
        let (identity, identityBytes) = try run([], expectGzip: false)
        let (gzip, gzipBytes) = try run([("Accept-Encoding", "gzip")], expectGzip: true)

        var renders: [Duration] = []
        var buffer: [UInt8] = []
        for _ in 0..<requests {
            buffer.removeAll(keepingCapacity: true)
            let start = clock.now
            registry.writeExposition(into: &buffer)
            renders.append(clock.now - start)
        }
        return Row(
            processes: processes, series: processes * SyntheticAgent.seriesPerProcess, identityBytes: identityBytes,
            gzipBytes: gzipBytes, render: Percentiles(renders), identity: identity, gzip: gzip, requests: requests)
    }

    static func printTable(_ rows: [Row]) {
        print("GET /metrics over loopback: one keep-alive connection, sequential requests, client in-process")
        print("render = registry.writeExposition alone; identity/gzip = request sent → last body byte read\n")
        let header = ["processes", "series", "identity B", "gzip B", "ratio", "render p50", "identity p50", "identity p99", "gzip p50", "gzip p99", "requests"]
        var table = [header]
        for row in rows {
            table.append([
                "\(row.processes)", "\(row.series)", "\(row.identityBytes)", "\(row.gzipBytes)",
                String(format: "%.1fx", Double(row.identityBytes) / Double(max(row.gzipBytes, 1))),
                row.render.p50.milliseconds, row.identity.p50.milliseconds, row.identity.p99.milliseconds,
                row.gzip.p50.milliseconds, row.gzip.p99.milliseconds, "\(row.requests)",
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for line in table {
            print(zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    /// Runs blocking work on a fresh thread and awaits its result.
    static func onOwnThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}

/// p50 and p99 of a set of durations (nearest rank).
struct Percentiles {
    let p50: Duration
    let p99: Duration

    init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        func rank(_ fraction: Double) -> Duration {
            guard !sorted.isEmpty else { return .zero }
            let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(index, 0), sorted.count - 1)]
        }
        p50 = rank(0.50)
        p99 = rank(0.99)
    }
}

extension Duration {
    /// `12.345ms`.
    var milliseconds: String {
        let (seconds, attoseconds) = components
        return String(format: "%.3fms", Double(seconds) * 1e3 + Double(attoseconds) / 1e15)
    }
}
