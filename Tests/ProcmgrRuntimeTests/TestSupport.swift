import ProcmgrSupport
import Glibc
import ProcmgrRuntime
import Testing

/// The primitives shared by all tests. One per test process, as in the agent: only one
/// ExitWatcher may reap untracked children, and the spawn thread lives for the whole run.
final class TestRuntime: Sendable {
    static let shared: TestRuntime = {
        do {
            return try TestRuntime()
        } catch {
            fatalError("cannot set up the test runtime: \(error)")
        }
    }()

    /// The one reactor, as in the agent: exits, output, stops and heartbeats share its thread.
    let reactor: EpollThread
    let watcher: ExitWatcher
    let spawner: SpawnThread
    let capture: OutputCapture
    let stopper: GroupStopper

    private init() throws {
        try Subreaper.enable()
        reactor = try EpollThread(name: "procmgr-reactor")
        watcher = try ExitWatcher(reactor: reactor)
        // With the agent's stderr sink: programs run by the runtime tests write stderr through it.
        spawner = try SpawnThread(watcher: watcher, stderrSink: try StderrSink(reactor: reactor))
        capture = OutputCapture(reactor: reactor)
        stopper = GroupStopper(reactor: reactor)
    }
}

let testPATH = "/usr/local/bin:/usr/bin:/bin"
let baseEnvironment = ["PATH": testPATH]

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects a child's lines and lets a test wait for a specific one (event-driven, with a
/// deadline that fails loudly).
final class LineCollector: Sendable {
    private struct Waiter {
        let predicate: @Sendable (CapturedLine) -> Bool
        let found: OneShot<CapturedLine>
    }

    private struct State {
        var lines: [CapturedLine] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var keepAll: Bool
    }

    private let state: LockedState<State>

    init(keepAll: Bool = true) {
        state = LockedState(State(keepAll: keepAll))
    }

    var lines: [CapturedLine] { state.withLock { $0.lines } }
    var texts: [String] { lines.map(\.text) }

    func append(_ line: CapturedLine) {
        let matched = state.withLock { state -> [OneShot<CapturedLine>] in
            if state.keepAll { state.lines.append(line) }
            var hits: [OneShot<CapturedLine>] = []
            for (id, waiter) in state.waiters where waiter.predicate(line) {
                hits.append(waiter.found)
                state.waiters[id] = nil
            }
            return hits
        }
        for hit in matched { hit.fulfill(line) }
    }

    /// Waits for a line matching `predicate` (already received or future).
    func waitFor(
        _ what: String,
        timeout: Duration = .seconds(10),
        where predicate: @escaping @Sendable (CapturedLine) -> Bool
    ) async throws -> CapturedLine {
        let found = OneShot<CapturedLine>()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            if let existing = state.lines.first(where: predicate) {
                found.fulfill(existing)
            } else {
                state.waiters[state.nextID] = Waiter(predicate: predicate, found: found)
            }
            return state.nextID
        }
        if let line = await found.wait(timeout: timeout) { return line }
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
        throw TestFailure("timed out after \(timeout) waiting for \(what); lines so far: \(texts.suffix(20))")
    }

    func waitFor(line text: String, timeout: Duration = .seconds(10)) async throws {
        _ = try await waitFor("line \"\(text)\"", timeout: timeout) { $0.text == text }
    }
}

/// A spawned child whose output is captured into a collector.
struct CapturedChild {
    let process: SpawnedProcess
    let output: LineCollector
    let capture: OutputCaptureHandle

    var pid: Int32 { process.pid }
    var pgid: Int32 { process.pgid }
    var handle: ProcessHandle { process.handle }
}

func spawnCaptured(
    _ arguments: [String],
    environment: [String: String] = baseEnvironment,
    workingDirectory: String? = nil,
    inheritedFDs: [FDMapping] = [],
    killWithParent: Bool = true
) async throws -> CapturedChild {
    let runtime = TestRuntime.shared
    let process = try await runtime.spawner.spawn(SpawnSpec(
        arguments: arguments, environment: environment, workingDirectory: workingDirectory,
        captureOutput: true, inheritedFDs: inheritedFDs, killWithParent: killWithParent))
    let output = LineCollector()
    let capture = try runtime.capture.attach(name: arguments.joined(separator: " "), stdout: process.stdoutFD, stderr: process.stderrFD) { line in
        output.append(line)
    }
    return CapturedChild(process: process, output: output, capture: capture)
}

/// Runs a command to completion and returns its status and output.
func runToCompletion(
    _ arguments: [String],
    environment: [String: String] = baseEnvironment,
    workingDirectory: String? = nil,
    timeout: Duration = .seconds(20)
) async throws -> (status: ProcessExitStatus, lines: [String]) {
    let child = try await spawnCaptured(arguments, environment: environment, workingDirectory: workingDirectory)
    guard let status = await child.process.exit.wait(timeout: timeout) else {
        _ = await TestRuntime.shared.stopper.stop(child.handle, signal: SIGKILL, grace: .zero)
        throw TestFailure("\(arguments) did not exit within \(timeout)")
    }
    guard await child.capture.waitUntilFinished(timeout: .seconds(10)) else {
        throw TestFailure("output of \(arguments) did not reach EOF")
    }
    return (status, child.output.texts)
}

/// True if a process with this pid exists and is not a zombie (and, when given, still has
/// the same start time — guards against pid reuse).
func isAlive(_ pid: Int32, startTime: UInt64? = nil) -> Bool {
    guard let stat = ProcStat.read(pid: pid), !stat.isZombie else { return false }
    if let startTime, stat.startTime != startTime { return false }
    return true
}

/// Zombie children of this test process.
func ourZombies() -> [ProcStat] {
    let me = getpid()
    return ProcFS.allStats().filter { $0.parentPID == me && $0.isZombie }
}

/// Path of the runtime-testhost executable (built next to the test bundle).
func testHostPath() throws -> String {
    if let override = getenv("PROCMGR_TESTHOST") { return String(cString: override) }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw TestFailure("readlink(/proc/self/exe) failed") }
    let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var directory = exe
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/runtime-testhost"
        if access(candidate, X_OK) == 0 { return candidate }
        if directory.hasSuffix("/.build") || directory.isEmpty { break }
    }
    throw TestFailure("runtime-testhost not found next to \(exe); run `swift build` first or set PROCMGR_TESTHOST")
}

/// A fresh temporary directory.
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/procmgr-runtime-test-XXXXXX".utf8CString)
    guard let result = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
    return String(cString: result)
}

func removeTree(_ path: String) {
    guard path.hasPrefix("/tmp/procmgr-runtime-test-") else { return }
    _ = try? runRemove(path)
}

private func runRemove(_ path: String) throws {
    // Small directories only; avoids Foundation's FileManager.
    guard let dir = opendir(path) else { return }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
            pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        if entry.pointee.d_type == UInt8(DT_DIR) { try runRemove(child); rmdir(child) } else { unlink(child) }
    }
    rmdir(path)
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
