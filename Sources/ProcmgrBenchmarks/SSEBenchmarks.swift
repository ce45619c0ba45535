import Foundation
import Glibc
import Hummingbird
import Logging
import NIOCore
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport
import ServiceLifecycle

/// `procmgr-bench sse [--idle-seconds N] [--procmgr PATH]` (issue 14's figures):
/// (a) an event published → delivered to 100 SSE clients, p50/p99 over 2,000 events, beside the
///     obvious implementation (an `AsyncStream` per client, `JSONEncoder` once per event, on a
///     plain Hummingbird `Application`) as the peer;
/// (b) 1,000 idle `/api/v1/events` clients on a real `procmgr run`: the agent's CPU over an idle
///     window (from /proc/PID/stat, the clients are other threads of this process and idle) and
///     the RSS they add;
/// (c) a followed log of a real process writing 50,000 numbered lines/s for 10 s: lines lost and
///     the agent's CPU, beside the same run without a follower.
/// `procmgr-bench sse-writer RATE SECONDS DELAY` is (c)'s writer.
enum SSEBenchmarks {
    static func run(arguments: [String]) async {
        var idleSeconds = 60
        var procmgr = ChaosCommand.siblingProcmgr()
        var index = 0
        while index + 1 < arguments.count {
            switch arguments[index] {
            case "--idle-seconds": idleSeconds = Int(arguments[index + 1]) ?? idleSeconds
            case "--procmgr": procmgr = arguments[index + 1]
            default: break
            }
            index += 2
        }
        raiseDescriptorLimit()
        var rows: [[String]] = []
        do {
            rows += try await fanOut()
            if let procmgr, access(procmgr, X_OK) == 0 {
                rows += try idleClients(procmgr: procmgr, seconds: idleSeconds)
                rows += try followedLog(procmgr: procmgr)
            } else {
                print("sse: no procmgr binary (build it: swift build -c release --product procmgr, or pass --procmgr); (b) and (c) skipped")
            }
        } catch {
            print("sse: failed: \(error)")
        }
        printTable("Server-Sent Events (issue 14)", header: ["figure", "procmgr", "peer / control", "goal"], rows: rows)
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    // MARK: (a) fan-out latency

    static let clients = 100
    static let events = 2_000
    /// Publishing pace: 200 events/s, far above what an agent emits, far below saturating 2 cores.
    static let eventSpacing: useconds_t = 5_000

    static func fanOut() async throws -> [[String]] {
        let backend = try BenchBackend()
        let ours = try await withServer(backend: backend) { port in
            try measureFanOut(port: port, path: "/api/v1/events") { backend.events.publish($0) }
        }
        let hub = BaselineHub()
        let peer = try await withBaselineServer(hub: hub) { port in
            // Its streams know nothing of graceful shutdown: end them, or the server waits forever.
            defer { hub.finishAll() }
            return try measureFanOut(port: port, path: "/baseline") { hub.publish($0) }
        }
        return [
            ["(a) publish → one client's delivery p50 / p99 (ms), \(clients) clients × \(events) events",
             "\(format(ours.delivery.p50)) / \(format(ours.delivery.p99))",
             "\(format(peer.delivery.p50)) / \(format(peer.delivery.p99)) (AsyncStream per client)", "—"],
            ["(a) publish → all \(clients) clients have it, p50 / p99 (ms)",
             "\(format(ours.all.p50)) / \(format(ours.all.p99))",
             "\(format(peer.all.p50)) / \(format(peer.all.p99))", "p99 ≤ 5 ms"],
            ["(a) deliveries missing", "\(ours.missing)", "\(peer.missing)", "0"],
            ["(a) bench process CPU during the run, server and client thread (% of a core)", format(ours.cpuPercent), format(peer.cpuPercent), "—"],
        ]
    }

    struct Percentiles {
        var p50: Double
        var p99: Double

        init(_ values: [Double]) {
            let sorted = values.sorted()
            p50 = sorted.isEmpty ? .nan : sorted[sorted.count / 2]
            p99 = sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        }
    }

    struct FanOut {
        var delivery: Percentiles
        var all: Percentiles
        var missing: Int
        var cpuPercent: Double
    }

    /// Connects `clients` streams, publishes `events` paced events stamped with the monotonic
    /// publish time, and reads every stream on one thread (poll over all sockets) until all have
    /// arrived or 30 s passed.
    static func measureFanOut(port: Int, path: String, publish: @escaping @Sendable (AgentEvent) -> Void) throws -> FanOut {
        let sockets = try (0..<clients).map { _ in try connect(port: port, request: "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n") }
        defer { for fd in sockets { close(fd) } }
        for fd in sockets { _ = try readUntil(fd: fd, marker: "\r\n\r\n", timeout: .seconds(10)) }
        // Wait until every stream is subscribed: a warm-up event must reach all of them.
        let warmUp = Thread { publish(AgentEvent(type: .state, process: "bench", message: "warm-up")) }
        warmUp.start()
        for fd in sockets { _ = try readUntil(fd: fd, marker: "warm-up", timeout: .seconds(10)) }
        let cpuBefore = processCPUSeconds()
        let publisher = Thread {
            for _ in 0..<events {
                publish(AgentEvent(type: .state, process: "bench", message: "t=\(monotonicNanoseconds())"))
                usleep(eventSpacing)
            }
        }
        publisher.start()
        var latencies: [Double] = []
        latencies.reserveCapacity(clients * events)
        var perEvent: [UInt64: (count: Int, worst: Double)] = [:]
        var pending = [[UInt8]](repeating: [], count: sockets.count)
        var descriptors = sockets.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let deadline = ContinuousClock.now.advanced(by: .seconds(Double(events) * Double(eventSpacing) / 1e6 + 30))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while latencies.count < clients * events, ContinuousClock.now < deadline {
            guard poll(&descriptors, nfds_t(descriptors.count), 100) > 0 else { continue }
            for index in descriptors.indices where descriptors[index].revents != 0 {
                let count = chunk.withUnsafeMutableBytes { recv(descriptors[index].fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { continue }
                let now = monotonicNanoseconds()
                pending[index] += chunk[0..<count]
                for stamp in takeStamps(&pending[index]) {
                    let latency = Double(now &- stamp) / 1e6
                    latencies.append(latency)
                    let seen = perEvent[stamp] ?? (0, 0)
                    perEvent[stamp] = (seen.count + 1, max(seen.worst, latency))
                }
            }
        }
        let cpu = processCPUSeconds() - cpuBefore
        let window = Double(events) * Double(eventSpacing) / 1e6
        let complete = perEvent.values.filter { $0.count == clients }.map(\.worst)
        return FanOut(
            delivery: Percentiles(latencies), all: Percentiles(complete), missing: clients * events - latencies.count,
            cpuPercent: cpu / window * 100)
    }

    /// The `t=<ns>` stamps of the complete frames in `bytes`; the incomplete rest stays.
    static func takeStamps(_ bytes: inout [UInt8]) -> [UInt64] {
        var stamps: [UInt64] = []
        var consumed = 0
        var index = 0
        let end = bytes.count
        while index + 1 < end {
            if bytes[index] == UInt8(ascii: "t"), bytes[index + 1] == UInt8(ascii: "=") {
                var value: UInt64 = 0
                var cursor = index + 2
                while cursor < end, bytes[cursor] >= 48, bytes[cursor] <= 57 {
                    value = value * 10 + UInt64(bytes[cursor] - 48)
                    cursor += 1
                }
                guard cursor < end else { break }
                stamps.append(value)
                index = cursor
                consumed = cursor
                continue
            }
            index += 1
        }
        bytes.removeFirst(consumed)
        return stamps
    }

    // MARK: (b) idle clients on a real agent

    static func idleClients(procmgr: String, seconds: Int) throws -> [[String]] {
        let directory = try temporaryDirectory()
        let config = directory + "/procmgr.yaml"
        try """
            agent:
              state_dir: \(directory)/state
            processes:
              - { id: idle, command: ["sleep", "100000"] }

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try ChaosAgent.start(procmgr: procmgr, config: config, logFile: directory + "/agent.log", marker: ("PROCMGR_SSE_BENCH", "1"))
        defer {
            agent.signal(SIGTERM)
            if !agent.waitForExit(timeout: .seconds(20)) { agent.signal(SIGKILL) }
        }
        _ = try waitForMetric(port: agent.port, line: "procmgr_http_streams{stream=\"events\"} 0")
        let window = Duration.seconds(seconds)
        let rssBefore = residentKiB(pid: agent.pid)
        let cpuWithout = cpuPercent(pid: agent.pid, over: window)
        let sockets = try (0..<1_000).map { _ in try connect(port: agent.port, request: "GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n") }
        defer { for fd in sockets { close(fd) } }
        for fd in sockets { _ = try readUntil(fd: fd, marker: "retry: 1000", timeout: .seconds(30)) }
        _ = try waitForMetric(port: agent.port, line: "procmgr_http_streams{stream=\"events\"} 1000")
        let rssAfter = residentKiB(pid: agent.pid)
        let cpuWith = cpuPercent(pid: agent.pid, over: window)
        return [
            ["(b) agent CPU, idle \(seconds) s (% of a core): with 1,000 idle streams", format(cpuWith, decimals: 4),
             "without: \(format(cpuWithout, decimals: 4)); added \(format(cpuWith - cpuWithout, decimals: 4))", "added ≤ 0.02 %"],
            ["(b) agent RSS added by 1,000 idle streams (MiB)", format(Double(rssAfter - rssBefore) / 1024),
             "before: \(format(Double(rssBefore) / 1024)) MiB", "≤ 10 MiB"],
        ]
    }

    // MARK: (c) a followed log at 50,000 lines/s

    static let lineRate = 50_000
    static let writeSeconds = 10

    static func followedLog(procmgr: String) throws -> [[String]] {
        guard let bench = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw Failure(description: "cannot find this binary")
        }
        let followed = try followedRun(procmgr: procmgr, bench: bench, follow: true)
        let alone = try followedRun(procmgr: procmgr, bench: bench, follow: false)
        let total = lineRate * writeSeconds
        return [
            ["(c) lines lost following \(lineRate)/s for \(writeSeconds) s (\(total) lines)", "\(followed.lost) (out of order: \(followed.disordered))",
             "—", "0"],
            ["(c) agent CPU while the process writes (% of a core)", format(followed.cpuPercent),
             "without a follower: \(format(alone.cpuPercent))", "—"],
        ]
    }

    struct FollowedRun {
        var lost: Int
        var disordered: Int
        var cpuPercent: Double
    }

    static func followedRun(procmgr: String, bench: String, follow: Bool) throws -> FollowedRun {
        let directory = try temporaryDirectory()
        let config = directory + "/procmgr.yaml"
        let delay = 3
        try """
            agent:
              state_dir: \(directory)/state
            processes:
              - { id: writer, command: ["\(bench)", "sse-writer", "\(lineRate)", "\(writeSeconds)", "\(delay)"], restart: never }

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try ChaosAgent.start(procmgr: procmgr, config: config, logFile: directory + "/agent.log", marker: ("PROCMGR_SSE_BENCH", "1"))
        defer {
            agent.signal(SIGTERM)
            if !agent.waitForExit(timeout: .seconds(20)) { agent.signal(SIGKILL) }
        }
        let total = lineRate * writeSeconds
        let start = ContinuousClock.now
        let cpuBefore = processCPUSeconds(pid: agent.pid)
        var lost = 0
        var disordered = 0
        if follow {
            let fd = try connect(port: agent.port, request: "GET /api/v1/processes/writer/logs?follow=true HTTP/1.1\r\nHost: x\r\n\r\n")
            defer { close(fd) }
            var expected = 1
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            let deadline = start.advanced(by: .seconds(delay + writeSeconds + 20))
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while expected <= total, ContinuousClock.now < deadline {
                guard poll(&descriptor, 1, 100) > 0 else { continue }
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                pending += chunk[0..<count]
                for number in takeLineNumbers(&pending) {
                    if number == expected {
                        expected += 1
                    } else if number > expected {
                        lost += number - expected
                        expected = number + 1
                    } else {
                        disordered += 1
                    }
                }
            }
            lost += total + 1 - expected
        } else {
            sleep(UInt32(delay + writeSeconds + 1))
        }
        let cpu = processCPUSeconds(pid: agent.pid) - cpuBefore
        let elapsed = (ContinuousClock.now - start).benchmarkSeconds
        return FollowedRun(lost: lost, disordered: disordered, cpuPercent: cpu / max(elapsed, 1) * 100)
    }

    /// The numbers of complete `"text":"N"` lines in `bytes`; the incomplete rest stays.
    static func takeLineNumbers(_ bytes: inout [UInt8]) -> [Int] {
        let marker = Array(#""text":""#.utf8)
        var numbers: [Int] = []
        var consumed = 0
        var index = 0
        let end = bytes.count
        search: while index + marker.count < end {
            for offset in marker.indices where bytes[index + offset] != marker[offset] {
                index += 1
                continue search
            }
            var cursor = index + marker.count
            var value = 0
            while cursor < end, bytes[cursor] >= 48, bytes[cursor] <= 57 {
                value = value * 10 + Int(bytes[cursor] - 48)
                cursor += 1
            }
            guard cursor < end else { break }
            numbers.append(value)
            index = cursor
            consumed = cursor
        }
        bytes.removeFirst(consumed)
        return numbers
    }

    /// (c)'s writer: after `delay` s, `rate` numbered lines a second for `seconds` s, paced in 10 ms steps.
    static func writer(arguments: [String]) {
        let rate = arguments.first.flatMap(Int.init) ?? lineRate
        let seconds = arguments.dropFirst().first.flatMap(Int.init) ?? writeSeconds
        let delay = arguments.dropFirst(2).first.flatMap(UInt32.init) ?? 0
        sleep(delay)
        let start = monotonicNanoseconds()
        let total = rate * seconds
        var written = 0
        var text = ""
        while written < total {
            let due = min(total, Int(Double(monotonicNanoseconds() - start) / 1e9 * Double(rate)) + rate / 100)
            text.removeAll(keepingCapacity: true)
            while written < due {
                written += 1
                text += "\(written)\n"
            }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let count = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                bytes = bytes.dropFirst(count)
            }
            usleep(10_000)
        }
    }

    // MARK: servers and sockets

    static func withServer<T: Sendable>(backend: BenchBackend, _ body: @escaping @Sendable (Int) throws -> T) async throws -> T {
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = try AgentHTTPServer.makeApplication(
            configuration: APIServerConfiguration(host: "127.0.0.1", port: 0), backend: backend, registry: MetricsRegistry(),
            logger: Logger(label: "sse-bench"), onServerRunning: { sink.yield($0.localAddress?.port ?? 0) })
        return try await serve(app, ports: ports, body)
    }

    static func withBaselineServer<T: Sendable>(hub: BaselineHub, _ body: @escaping @Sendable (Int) throws -> T) async throws -> T {
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let router = Router()
        router.get("/baseline") { _, _ -> Response in
            let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(1_024))
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                let key = hub.add(continuation)
                defer { hub.remove(key) }
                for await buffer in stream { try await writer.write(buffer) }
                try await writer.finish(nil)
            })
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "sse-bench-baseline"))
        return try await serve(app, ports: ports, body)
    }

    static func serve<T: Sendable>(
        _ app: some ApplicationProtocol, ports: AsyncStream<Int>, _ body: @escaping @Sendable (Int) throws -> T
    ) async throws -> T {
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "sse-bench"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw Failure(description: "server did not start") }
            // Blocking socket work runs on its own thread, off the pool the server needs.
            let result: Result<T, any Error> = await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: Result { try body(port) }) }.start()
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }

    static func connect(port: Int, request: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect: errno \(errno)")
        }
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            close(fd)
            throw Failure(description: "send failed")
        }
        return fd
    }

    /// Reads from `fd` until `marker` has arrived (the rest of what was read is dropped).
    static func readUntil(fd: Int32, marker: String, timeout: Duration) throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            guard ContinuousClock.now < deadline else { throw Failure(description: "no \(marker) within \(timeout)") }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(description: "closed before \(marker)") }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Polls `/metrics` until a line equal to `line` is in it.
    static func waitForMetric(port: Int, line: String, timeout: Duration = .seconds(30)) throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let fd = try connect(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            defer { close(fd) }
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                received += chunk[0..<count]
            }
            let text = String(decoding: received, as: UTF8.self)
            if text.split(separator: "\n").contains(where: { $0 == line }) { return text }
            usleep(50_000)
        }
        throw Failure(description: "no \(line) in /metrics within \(timeout)")
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "procmgr-sse-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp: errno \(errno)") }
        return String(cString: made)
    }

    static func raiseDescriptorLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = min(limit.rlim_max, 65_536)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// User + system CPU of this process, in seconds.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// utime + stime of `pid` from /proc/PID/stat, in seconds.
    static func processCPUSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return .nan }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based) → indices 11, 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func cpuPercent(pid: Int32, over window: Duration) -> Double {
        let before = processCPUSeconds(pid: pid)
        let start = ContinuousClock.now
        sleep(UInt32(window.components.seconds))
        return (processCPUSeconds(pid: pid) - before) / (ContinuousClock.now - start).benchmarkSeconds * 100
    }

    static func residentKiB(pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}

/// (a)'s peer: the obvious fan-out — a continuation per client, each event encoded once with
/// `JSONEncoder` and yielded to every client (a client 1,024 buffers behind loses the oldest).
final class BaselineHub: Sendable {
    private let continuations = LockedState<[Int: AsyncStream<ByteBuffer>.Continuation]>([:])
    private let nextKey = LockedState(0)
    private let nextID = LockedState<UInt64>(0)

    func add(_ continuation: AsyncStream<ByteBuffer>.Continuation) -> Int {
        let key = nextKey.withLock { key -> Int in
            key += 1
            return key
        }
        continuations.withLock { $0[key] = continuation }
        return key
    }

    func remove(_ key: Int) {
        continuations.withLock { $0[key]?.finish(); $0[key] = nil }
    }

    func finishAll() {
        for continuation in continuations.withLock({ Array($0.values) }) { continuation.finish() }
    }

    func publish(_ event: AgentEvent) {
        var event = event
        event.id = nextID.withLock { id -> UInt64 in
            id += 1
            return id
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(event) else { return }
        var buffer = ByteBuffer()
        buffer.writeString("id: \(event.id)\nevent: \(event.type.rawValue)\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        for continuation in continuations.withLock({ Array($0.values) }) { continuation.yield(buffer) }
    }
}

/// A backend with nothing but an event journal: (a) measures the HTTP fan-out alone.
final class BenchBackend: AgentBackend {
    let events: EventJournal

    init() throws {
        events = try EventJournal(registry: nil)
    }

    var isReady: Bool { true }
    func writeMetrics(into buffer: inout [UInt8]) {}
    func processes() async -> [ProcessView] { [] }
    func process(id: String) async -> ProcessView? { nil }
    func logs(id: String, tail: Int) async -> [LogLineView]? { nil }
    func restart(id: String) async throws(AgentActionError) { throw .notFound(id: id) }
    func stop(id: String) async throws(AgentActionError) { throw .notFound(id: id) }
    func scale(id: String, replicas: Int) async throws(AgentActionError) { throw .notFound(id: id) }
    func reload() async throws(AgentActionError) {}
    func routes(host: String) async -> [String] { [] }
    func knowsProcess(id: String) async -> Bool { false }
    func logStream(id: String) async -> StreamRing<OutputLine>? { nil }
    func signal(id: String, signal: ProcessSignalName) async throws(AgentActionError) { throw .notFound(id: id) }
}
