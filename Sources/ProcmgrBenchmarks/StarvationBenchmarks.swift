import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The issue's server figure: a real agent (`procmgr run`, built next to this benchmark) under
/// 10,000 idle loopback connections attempted at once. Measured without and with them: exit →
/// running again (a child SIGKILLed until its replacement exists, read from
/// `/proc/AGENT/task/*/children`, so the API is not in the measured path) as p50/p99/max, and
/// `/healthz` on a fresh connection (status and latency). Also the agent's CPU and descriptors
/// while the connections are held.
///
/// `swift build -c release && .build/release/procmgr-bench starvation`
/// (STARVATION_CONNECTIONS, STARVATION_SAMPLES override 10,000 and 200).
enum StarvationBenchmarks {
    static let processes = 20

    static func run() async {
        let connections = RuntimeBenchmarks.environmentInt("STARVATION_CONNECTIONS", default: 10_000)
        let samples = RuntimeBenchmarks.environmentInt("STARVATION_SAMPLES", default: 200)
        guard let executable = RuntimeBenchmarks.selfExecutable(), let slash = executable.lastIndex(of: "/") else { return }
        let procmgr = String(executable[..<slash]) + "/procmgr"
        guard access(procmgr, X_OK) == 0 else {
            print("starvation: \(procmgr) not found; build it first (swift build -c release)")
            return
        }
        raiseOwnFileLimit(to: connections + 1024)
        let directory = NSTemporaryDirectory() + "procmgr-bench-starvation-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = "agent:\n  state_dir: \(directory)/state\nprocesses:\n"
        for index in 0..<processes {
            config += "  - { id: p\(index), command: [\"sleep\", \"600\"], backoff: { initial: 0s, max: 1ms, multiplier: 1, jitter: 0 } }\n"
        }
        let file = directory + "/procmgr.yaml"
        try? config.write(toFile: file, atomically: true, encoding: .utf8)

        guard let agent = AgentUnderTest(procmgr: procmgr, config: file) else { return }
        defer { agent.stop() }
        guard agent.waitForChildren(processes) else {
            print("starvation: the agent did not start \(processes) children")
            return
        }
        print("exit → running again under idle connections (real agent, \(processes) children, \(samples) kills each)")
        let quiet = measure(agent, samples: samples)
        print("  without: \(quiet.restarts)   /healthz: \(quiet.health)")

        let cpuBefore = agent.cpuSeconds()
        let wallBefore = ContinuousClock.now
        let flood = IdleFlood(port: agent.port, count: connections)
        let attack = measure(agent, samples: samples)
        let openFDs = agent.openDescriptors()
        let cpu = (agent.cpuSeconds() - cpuBefore) / (ContinuousClock.now - wallBefore).benchmarkSeconds * 100
        let closedByAgent = flood.closedByPeer()
        print("  with \(flood.connected) of \(connections) idle connections attempted (\(flood.failed) failed to connect): \(attack.restarts)   /healthz: \(attack.health)")
        print("  agent while flooded: \(format(cpu, decimals: 1)) % of a core, \(openFDs) open descriptors; \(closedByAgent) of the idle connections closed by it")
        print("  agent's counters: \(agent.metricLines(["procmgr_http_connections_evicted_total", "procmgr_http_connections_refused_total", "procmgr_http_open_connections"]))")
        flood.close()
    }

    struct Round {
        var restarts: String
        var health: String
    }

    static func measure(_ agent: AgentUnderTest, samples: Int) -> Round {
        var latencies: [Double] = []
        var failures = 0
        var healthLatencies: [Double] = []
        var healthCodes: [String: Int] = [:]
        for index in 0..<samples {
            if let latency = agent.killOneAndWaitForReplacement() { latencies.append(latency) } else { failures += 1 }
            if index % 10 == 0 {
                let (code, latency) = agent.healthz()
                healthCodes[code, default: 0] += 1
                if code == "200" { healthLatencies.append(latency) }
            }
        }
        func ms(_ values: [Double]) -> String {
            "\(format(RuntimeBenchmarks.percentile(values, 0.5)))/\(format(RuntimeBenchmarks.percentile(values, 0.99)))/\(format(values.max() ?? .nan)) ms"
        }
        let codes = healthCodes.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: ", ")
        return Round(
            restarts: "p50/p99/max \(ms(latencies))\(failures > 0 ? " (\(failures) failed)" : "")",
            health: "\(codes), p50/p99/max \(ms(healthLatencies))")
    }

    static func raiseOwnFileLimit(to wanted: Int) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = min(limit.rlim_max, rlim_t(max(wanted, Int(limit.rlim_cur))))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// `procmgr run` as a child process.
final class AgentUnderTest {
    let process: Process
    let port: Int
    var pid: Int32 { process.processIdentifier }

    init?(procmgr: String, config: String) {
        process = Process()
        process.executableURL = URL(fileURLWithPath: procmgr)
        process.arguments = ["run", "--config", config, "--listen", "127.0.0.1:0", "--no-watch-config"]
        var environment = ProcessInfo.processInfo.environment
        environment["PROCMGR_LOG_LEVEL"] = "error"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            print("starvation: cannot start procmgr: \(error)")
            return nil
        }
        var text = ""
        let handle = output.fileHandleForReading
        while !text.contains("/metrics\n") {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("procmgr agent listening on http://127.0.0.1:") }),
              let port = Int(line.split(separator: ":").last ?? "")
        else {
            print("starvation: procmgr did not say where it listens: \(text)")
            process.terminate()
            return nil
        }
        self.port = port
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// The agent's children, from every thread's `children` list.
    func children() -> Set<Int32> {
        var result = Set<Int32>()
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return result }
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8) else { continue }
            for field in text.split(separator: " ") { if let child = Int32(field) { result.insert(child) } }
        }
        return result
    }

    /// Children running `sleep` (the guardian is a child too).
    func sleepers() -> Set<Int32> {
        children().filter { child in
            (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8))?.hasPrefix("sleep") == true
        }
    }

    func waitForChildren(_ count: Int) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while sleepers().count < count {
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// SIGKILLs one `sleep` child and returns the milliseconds until a new one exists.
    func killOneAndWaitForReplacement() -> Double? {
        let before = sleepers()
        guard let victim = before.randomElement() else { return nil }
        let start = ContinuousClock.now
        kill(victim, SIGKILL)
        let deadline = start.advanced(by: .seconds(5))
        while ContinuousClock.now < deadline {
            let now = sleepers()
            if now.contains(where: { !before.contains($0) }) {
                return (ContinuousClock.now - start).benchmarkSeconds * 1000
            }
            usleep(100)  // a 0.1 ms resolution without taking a core from the agent
        }
        return nil
    }

    /// `GET /healthz` on a fresh connection: the status code (or the failure) and milliseconds.
    func healthz() -> (String, Double) {
        let start = ContinuousClock.now
        let reply = HTTPGet.fetch(port: port, path: "/healthz")
        let code = reply.map { String($0.dropFirst(9).prefix(3)) } ?? "no answer"
        return (code, (ContinuousClock.now - start).benchmarkSeconds * 1000)
    }

    func metricLines(_ names: [String]) -> String {
        guard let text = HTTPGet.fetch(port: port, path: "/metrics") else { return "unavailable (/metrics did not answer)" }
        return text.split(separator: "\n").filter { line in names.contains { line.hasPrefix($0 + " ") } }.joined(separator: ", ")
    }

    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }
}

/// `count` connections to the agent that send nothing and stay open on this side.
final class IdleFlood {
    private var descriptors: [Int32] = []
    private(set) var failed = 0
    var connected: Int { descriptors.count }

    init(port: Int, count: Int) {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else {
                failed += 1
                continue
            }
            let result = connectLoopback(fd, port: port)
            if result == 0 || errno == EINPROGRESS {
                descriptors.append(fd)
            } else {
                Glibc.close(fd)
                failed += 1
            }
        }
    }

    /// Connections the agent has closed (readable with end of stream, or reset).
    func closedByPeer() -> Int {
        var closed = 0
        var byte: UInt8 = 0
        for fd in descriptors {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) == 1 else { continue }
            var drained = 0
            while true {
                let count = recv(fd, &byte, 1, 0)
                if count == 0 || (count < 0 && errno != EAGAIN) {
                    closed += 1
                    break
                }
                if count < 0 { break }
                drained += 1
                if drained > 4096 { break }
            }
        }
        return closed
    }

    func close() {
        for fd in descriptors { Glibc.close(fd) }
        descriptors = []
    }
}

/// `connect(2)` of `fd` to 127.0.0.1:`port`: 0, or -1 with errno (EINPROGRESS on a non-blocking
/// socket means the connection is under way).
func connectLoopback(_ fd: Int32, port: Int) -> Int32 {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A minimal blocking `GET` with `Connection: close` and a 5 s receive timeout.
enum HTTPGet {
    static func fetch(port: Int, path: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connectLoopback(fd, port: port) == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return received.isEmpty ? nil : String(decoding: received, as: UTF8.self)
    }
}
