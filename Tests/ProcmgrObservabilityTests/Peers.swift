import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import ProcmgrTestKit

/// A long-running child (Prometheus, Alertmanager, the agent) with its output in a log file.
/// Its exit is judged from /proc, never from `Process` (see `runTool`).
final class Peer: Sendable {
    let name: String
    let pid: Int32
    let logFile: URL

    init(_ name: String, executable: String, arguments: [String], environment: [String: String] = [:], logFile: URL) throws {
        self.name = name
        self.logFile = logFile
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try log.close()
        pid = process.processIdentifier
    }

    var isRunning: Bool { ProcessTable.isAlive(pid) }

    func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "(no log)" }

    /// SIGTERM, then SIGKILL if it has not gone within `grace`; returns whether it went on its own.
    @discardableResult
    func stop(grace: Duration = .seconds(10)) async -> Bool {
        guard isRunning else { return true }
        kill(pid, SIGTERM)
        if await ProcessTable.waitUntilGone(pid, timeout: grace) { return true }
        kill(pid, SIGKILL)
        _ = await ProcessTable.waitUntilGone(pid, timeout: .seconds(5))
        return false
    }
}

enum ProcessTable {
    /// True if the pid exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// The `/proc/PID/stat` state letter (R, S, D, T, Z…), or nil if gone.
    static func state(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    static func processGroup(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 2 ? Int32(fields[2]) : nil
    }

    static func arguments(_ pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// Live processes whose last argument is `marker`.
    static func pids(withMarker marker: String) -> [Int32] {
        allPIDs().filter { arguments($0).last == marker && isAlive($0) }
    }

    /// Polls /proc (a process that may not be our child has no exit event for us).
    static func waitUntilGone(_ pid: Int32, timeout: Duration) async -> Bool {
        (try? await eventually("\(pid) is gone", timeout: timeout) { !isAlive(pid) }) != nil
    }
}

/// A freezer cgroup (v1 `freezer.state`, or v2 `cgroup.freeze` where only the unified hierarchy
/// is mounted). A frozen process cannot act on any signal, SIGKILL included, until thawed: the
/// faithful stand-in for a program stuck in the kernel (hung mount, dying disk), the case in
/// which a termination really outlives its grace period.
struct FreezerCgroup {
    static let v1Root = "/sys/fs/cgroup/freezer"
    /// Pure v2 mounts the unified hierarchy at the root, hybrid systems under `unified`.
    static let v2Roots = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
    let path: String
    let isV2: Bool

    init() throws {
        let name = "procmgr-e2e-\(UUID().uuidString.prefix(8))"
        if FileManager.default.fileExists(atPath: Self.v1Root + "/tasks") {
            path = Self.v1Root + "/" + name
            isV2 = false
        } else if let root = Self.v2Roots.first(where: { FileManager.default.fileExists(atPath: $0 + "/cgroup.controllers") }) {
            path = root + "/" + name
            isV2 = true
        } else {
            throw TestFailure("no cgroup freezer (\(Self.v1Root) or a cgroup-v2 hierarchy): the end-to-end test freezes the stuck process in one (run as root on the CI machine)")
        }
        guard mkdir(path, 0o755) == 0 else { throw TestFailure("mkdir \(path): errno \(errno) (the end-to-end test needs root)") }
    }

    func add(_ pid: Int32) throws { try write("\(pid)\n", to: "cgroup.procs") }
    func freeze() throws { try isV2 ? write("1\n", to: "cgroup.freeze") : write("FROZEN\n", to: "freezer.state") }
    func thaw() throws { try isV2 ? write("0\n", to: "cgroup.freeze") : write("THAWED\n", to: "freezer.state") }
    /// `FROZEN` once every task is frozen (v2: `frozen 1` in `cgroup.events`).
    var state: String {
        if isV2 {
            let events = (try? String(contentsOfFile: path + "/cgroup.events", encoding: .utf8)) ?? ""
            return events.split(separator: "\n").contains("frozen 1") ? "FROZEN" : "THAWED"
        }
        return ((try? String(contentsOfFile: path + "/freezer.state", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Thaws and removes the group once its tasks are gone (rmdir fails with EBUSY until then).
    func remove(timeout: Duration = .seconds(10)) async {
        try? thaw()
        let end = ContinuousClock.now + timeout
        while rmdir(path) != 0, errno == EBUSY, ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
    }

    private func write(_ text: String, to file: String) throws {
        let fd = open(path + "/" + file, O_WRONLY)
        guard fd >= 0 else { throw TestFailure("open \(path)/\(file): errno \(errno)") }
        defer { close(fd) }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written == text.utf8.count else { throw TestFailure("write \(text) to \(path)/\(file): errno \(errno)") }
    }
}

/// Small JSON-over-HTTP calls to the peers.
enum HTTP {
    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        try await send(url, method: .GET)
    }

    static func post(_ url: String) async throws -> (status: Int, body: Data) {
        try await send(url, method: .POST)
    }

    private static func send(_ url: String, method: HTTPMethod) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

    static func json(_ data: Data) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
}


/// The `procmgr` executable built next to this test bundle.
func procmgrExecutable() throws -> String {
    if let override = ProcessInfo.processInfo.environment["PROCMGR_BINARY"] { return override }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw TestFailure("readlink(/proc/self/exe) failed") }
    var directory = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        var isDirectory: ObjCBool = false
        let candidate = directory + "/procmgr"
        if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
           access(candidate, X_OK) == 0 { return candidate }
        if directory.hasSuffix("/.build") || directory.isEmpty { break }
    }
    throw TestFailure("procmgr not found next to the test bundle; run `swift build --build-tests` first or set PROCMGR_BINARY")
}
