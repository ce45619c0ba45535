import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// The primitives the agent tests spawn with: their own exit watcher that only watches its own
/// pidfds, so it coexists with the runtime tests' sweeping watcher in the same test process.
final class AgentTestRuntime: Sendable {
    static let shared: AgentTestRuntime = {
        do {
            return try AgentTestRuntime()
        } catch {
            fatalError("cannot set up the agent test runtime: \(error)")
        }
    }()

    let watcher: ExitWatcher
    let spawner: SpawnThread
    let capture: OutputCapture

    private init() throws {
        let reactor = try EpollThread(name: "agent-tests-reactor")
        watcher = try ExitWatcher(reactor: reactor, configuration: .init(reapUntrackedChildren: false))
        spawner = try SpawnThread(watcher: watcher)
        capture = OutputCapture(reactor: reactor)
    }
}

struct AgentTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A `procmgr run` started as a child process, with its output captured and its API at hand.
final class AgentProcess: Sendable {
    let process: SpawnedProcess
    let baseURL: String
    private let lines: LockedState<[String]>

    var pid: Int32 { process.pid }
    var output: [String] { lines.withLock { $0 } }

    /// Starts `procmgr run ARGS --listen 127.0.0.1:0` and waits until it listens.
    /// `resourceLimits` and `identity` are the agent's own (e.g. a low open-file limit as `nobody`,
    /// who cannot raise it).
    static func start(
        _ arguments: [String], environment extra: [String: String] = [:], workingDirectory: String? = nil,
        resourceLimits: [ResourceLimit] = [], identity: ProcessIdentity? = nil
    ) async throws -> AgentProcess {
        var environment = ProcessInfo.processInfo.environment
        environment.merge(extra) { _, new in new }
        let runtime = AgentTestRuntime.shared
        var spec = SpawnSpec(
            arguments: [try procmgrPath(), "run", "--listen", "127.0.0.1:0"] + arguments,
            environment: environment, workingDirectory: workingDirectory, captureOutput: true, killWithParent: true)
        spec.resourceLimits = resourceLimits
        spec.identity = identity
        let process = try await runtime.spawner.spawn(spec)
        let lines = LockedState<[String]>([])
        let listening = OneShot<String>()
        _ = try runtime.capture.attach(name: "procmgr", stdout: process.stdoutFD, stderr: process.stderrFD) { line in
            lines.withLock { $0.append(line.text) }
            if line.text.hasPrefix("procmgr agent listening on "), let url = line.text.split(separator: " ").last {
                listening.fulfill(String(url))
            }
        }
        guard let url = await listening.wait(timeout: .seconds(60)) else {
            Glibc.kill(process.pid, SIGKILL)
            throw AgentTestFailure("procmgr did not start listening within 60 s; output: \(lines.withLock { $0.suffix(30) })")
        }
        return AgentProcess(process: process, baseURL: url, lines: lines)
    }

    private init(process: SpawnedProcess, baseURL: String, lines: LockedState<[String]>) {
        self.process = process
        self.baseURL = baseURL
        self.lines = lines
    }

    func signal(_ number: Int32) {
        Glibc.kill(process.pid, number)
    }

    /// Waits for the agent to exit; fails loudly after `timeout`.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> ProcessExitStatus {
        guard let status = await process.exit.wait(timeout: timeout) else {
            throw AgentTestFailure("procmgr did not exit within \(timeout); output: \(output.suffix(30))")
        }
        return status
    }

    /// SIGKILLs the agent if it still runs (test cleanup).
    func kill() async {
        if process.exit.value == nil {
            Glibc.kill(process.pid, SIGKILL)
            _ = await process.exit.wait(timeout: .seconds(10))
        }
    }

    // MARK: HTTP

    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> Any { try JSONSerialization.jsonObject(with: body) }
    }

    func request(_ path: String, method: HTTPMethod = .GET, body: String? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: bytes))
    }

    /// The process list as the API returns it, keyed by id.
    func processes() async throws -> [String: [String: Any]] {
        let reply = try await request("/api/v1/processes")
        guard reply.status == 200, let list = try reply.json() as? [[String: Any]] else {
            throw AgentTestFailure("GET /api/v1/processes: \(reply.status) \(reply.text)")
        }
        return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as! String, $0) })
    }

    /// Polls the process list until `condition` holds; fails loudly with the last list.
    @discardableResult
    func waitForProcesses(
        _ what: String, timeout: Duration = .seconds(20),
        until condition: ([String: [String: Any]]) -> Bool
    ) async throws -> [String: [String: Any]] {
        var last: [String: [String: Any]] = [:]
        try await eventually("\(what); processes: \(last); output: \(output.suffix(20))", timeout: timeout, every: .milliseconds(20)) {
            last = try await processes()
            return condition(last)
        }
        return last
    }

    /// Waits until the agent logged a line containing `text` (its children's output is logged
    /// with their process id as metadata).
    func waitForLogLine(_ text: String, timeout: Duration = .seconds(20)) async throws {
        try await eventually("a log line with \"\(text)\"; output: \(output.suffix(20))", timeout: timeout) {
            output.contains { $0.contains(text) }
        }
    }

    /// One GET to any URL (a managed process's own endpoint).
    static func get(url: String) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: bytes))
    }

    /// The value of one sample in `/metrics`, e.g. `procmgr_processes{state="running"}`.
    func metric(_ series: String) async throws -> Double? {
        let text = try await request("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// Running pids per process id, for processes that are running with a pid.
func runningPIDs(_ processes: [String: [String: Any]]) -> [String: Int] {
    processes.compactMapValues { process in
        guard process["state"] as? String == "running" else { return nil }
        return process["pid"] as? Int
    }
}

func processExists(_ pid: Int32) -> Bool {
    guard let stat = ProcStat.read(pid: pid) else { return false }
    return !stat.isZombie
}

/// `procmgr`, built next to the test bundle.
func procmgrPath() throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    var directory = exe
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/procmgr"
        if access(candidate, X_OK) == 0, !FileManager.default.fileExists(atPath: candidate + "/") { return candidate }
        if directory.hasSuffix("/.build") || directory.isEmpty { break }
    }
    throw AgentTestFailure("procmgr not found next to \(exe); run `swift build` first")
}

/// A fresh directory under /tmp, removed by the caller.
func makeTemporaryDirectory() throws -> String {
    let path = "/tmp/procmgr-agent-test-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Output lines collected from a child.
final class LockedLines: Sendable {
    private let lines = LockedState<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
