import ProcmgrSupport
import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The answering loop of examples/heartbeat_child.py, inline so the test needs no file.
let pythonResponder = """
import os, sys
fd = int(os.environ["PROCMGR_HEARTBEAT_FD"])
print("ready", flush=True)
pending = b""
while True:
    data = os.read(fd, 4096)
    if not data:
        sys.exit(0)
    pending += data
    while b"\\n" in pending:
        line, pending = pending.split(b"\\n", 1)
        if line.startswith(b"PING "):
            os.write(fd, b"PONG " + line[5:] + b"\\n")
"""

func exampleScriptPath() -> String? {
    var path = #filePath
    for _ in 0..<3 {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        path = String(path[..<slash])
    }
    let candidate = path + "/examples/heartbeat_child.py"
    return access(candidate, R_OK) == 0 ? candidate : nil
}

/// Spawns `arguments` with a heartbeat channel wired to fd 3.
func spawnWithHeartbeat(_ arguments: [String]) async throws -> (CapturedChild, HeartbeatChannel) {
    let channel = try HeartbeatChannel(reactor: TestRuntime.shared.reactor)
    let environment = baseEnvironment.merging(channel.environment) { _, new in new }
    let child = try await spawnCaptured(arguments, environment: environment, inheritedFDs: [channel.inheritedFD])
    channel.childStarted()
    return (child, channel)
}

/// The results of a channel's monitor (the agent's one way to ping), in order, and whether each
/// was delivered on the reactor thread; a test waits until they satisfy a condition.
final class HeartbeatResults: Sendable {
    private struct Waiter {
        let condition: @Sendable ([Result<Duration, HeartbeatError>]) -> Bool
        let met: OneShot<Void>
    }

    private struct State {
        var results: [Result<Duration, HeartbeatError>] = []
        var offLoop = 0
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let state = LockedState(State())

    /// Starts monitoring `channel` into a new recorder. With `stopAfterSuccesses`, the monitor is
    /// stopped from its own callback at that many answers, so no PING is in flight afterwards: a
    /// child whose PONG meets a closed channel would die of EPIPE instead of exiting cleanly.
    static func monitoring(
        _ channel: HeartbeatChannel, interval: Duration = .milliseconds(5), timeout: Duration, stopAfterSuccesses: Int? = nil
    ) -> HeartbeatResults {
        let recorder = HeartbeatResults()
        let reactor = TestRuntime.shared.reactor
        channel.startMonitoring(interval: interval, timeout: timeout) { result in
            // Stopped before the result is recorded: a test woken by it then finds the monitor
            // stopped (and may start another one, or close the channel).
            let answered = recorder.successes.count + (result.isSuccess ? 1 : 0)
            if let stopAfterSuccesses, answered >= stopAfterSuccesses { channel.stopMonitoring() }
            recorder.append(result, onLoop: reactor.isLoopThread)
        }
        return recorder
    }

    var all: [Result<Duration, HeartbeatError>] { state.withLock { $0.results } }
    var deliveredOffLoop: Int { state.withLock { $0.offLoop } }
    var successes: [Duration] { all.compactMap { try? $0.get() } }

    func append(_ result: Result<Duration, HeartbeatError>, onLoop: Bool) {
        let met = state.withLock { state -> [OneShot<Void>] in
            state.results.append(result)
            if !onLoop { state.offLoop += 1 }
            var met: [OneShot<Void>] = []
            for (id, waiter) in state.waiters where waiter.condition(state.results) {
                met.append(waiter.met)
                state.waiters[id] = nil
            }
            return met
        }
        for waiter in met { waiter.fulfill(()) }
    }

    /// Waits until the results so far satisfy `condition`, failing loudly at the timeout.
    func waitUntil(
        _ what: String, timeout: Duration = .seconds(10),
        _ condition: @escaping @Sendable ([Result<Duration, HeartbeatError>]) -> Bool
    ) async throws {
        let met = OneShot<Void>()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            if condition(state.results) { met.fulfill(()) } else { state.waiters[state.nextID] = Waiter(condition: condition, met: met) }
            return state.nextID
        }
        if await met.wait(timeout: timeout) != nil { return }
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
        throw TestFailure("timed out after \(timeout) waiting until \(what); results: \(all.suffix(10))")
    }

    func waitForSuccesses(_ count: Int, timeout: Duration = .seconds(10)) async throws {
        try await waitUntil("\(count) answered PINGs", timeout: timeout) { results in
            results.count { if case .success = $0 { true } else { false } } >= count
        }
    }

    func waitForClosed(timeout: Duration = .seconds(10)) async throws {
        try await waitUntil(".closed", timeout: timeout) { $0.contains { $0 == .failure(.closed) } }
    }
}

@Suite("Heartbeat")
struct HeartbeatTests {
    @Test("round-trip latency is measured against a python3 child")
    func latencyAgainstPython() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let results = HeartbeatResults.monitoring(channel, timeout: .seconds(5), stopAfterSuccesses: 20)
        try await results.waitForSuccesses(20)
        var latencies = results.successes
        latencies.sort()
        print("[measure] heartbeat RTT (python3 child): median \(latencies[latencies.count / 2].milliseconds) ms, max \(latencies.last!.milliseconds) ms")
        #expect(latencies.allSatisfy { $0 > .zero })
        #expect(results.all.allSatisfy { if case .success = $0 { true } else { false } }, "no timeout against a live child: \(results.all)")
        #expect(channel.lastLatency != nil)
        channel.close()
        // The child sees EOF and exits by itself.
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }

    @Test("a dead child closes the channel: the monitor ends with .closed")
    func deadChildCloses() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let results = HeartbeatResults.monitoring(channel, timeout: .seconds(5))
        try await results.waitForSuccesses(1)
        kill(child.pid, SIGKILL)
        _ = await child.process.exit.wait(timeout: .seconds(5))
        try await results.waitForClosed()
        #expect(results.all.last == .failure(.closed))
    }

    @Test("the Swift HeartbeatResponder answers, and exits when the agent's end closes")
    func swiftResponder() async throws {
        let (child, channel) = try await spawnWithHeartbeat([try testHostPath(), "heartbeat-child"])
        try await child.output.waitFor(line: "ready")
        let results = HeartbeatResults.monitoring(channel, timeout: .seconds(5), stopAfterSuccesses: 10)
        try await results.waitForSuccesses(10)
        channel.close()
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        #expect(results.all.count == 10, "stopped monitors report nothing more, not even .closed: \(results.all)")
    }

    @Test("examples/heartbeat_child.py answers and exits on EOF")
    func pythonExample() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", try #require(exampleScriptPath())])
        try await child.output.waitFor(line: "ready")
        let results = HeartbeatResults.monitoring(channel, timeout: .seconds(5), stopAfterSuccesses: 10)
        try await results.waitForSuccesses(10)
        channel.close()
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }

    @Test("pings from the loop thread, a stopped child times out, late PONGs are ignored, it recovers, and ends with .closed", arguments: 0..<5)
    func loopDrivenMonitor(round: Int) async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let results = HeartbeatResults.monitoring(channel, timeout: .milliseconds(300))
        try await results.waitForSuccesses(3)
        #expect(channel.lastLatency != nil)
        #expect(kill(child.pid, SIGSTOP) == 0)
        try await results.waitUntil("a timeout") { $0.contains { if case .failure(.timeout) = $0 { true } else { false } } }
        #expect(kill(child.pid, SIGCONT) == 0)
        try await results.waitUntil("a success after the timeout") { results in
            guard let timeout = results.firstIndex(where: { if case .failure(.timeout) = $0 { true } else { false } }) else { return false }
            return results[(timeout + 1)...].contains { if case .success = $0 { true } else { false } }
        }
        kill(child.pid, SIGKILL)
        try await results.waitForClosed()
        let all = results.all
        for case .failure(.timeout(_, let after)) in all { #expect(after == .milliseconds(300)) }
        // An answer after the timeout fired is not a success: every success beat its timeout
        // (deadlines are rounded up to the 50 ms batch grid).
        for latency in results.successes { #expect(latency < .milliseconds(350), "a success after its timeout: \(latency)") }
        #expect(all.count { $0 == .failure(.closed) } == 1, "exactly one .closed")
        #expect(all.last == .failure(.closed), "must end with .closed, got \(String(describing: all.last))")
        #expect(results.deliveredOffLoop == 0, "results must be delivered on the loop thread")
        _ = await child.process.exit.wait(timeout: .seconds(5))
    }

    @Test("stopMonitoring() ends the pings without closing the channel; monitoring can start again")
    func stopMonitoring() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let first = HeartbeatResults.monitoring(channel, timeout: .seconds(5), stopAfterSuccesses: 1)
        try await first.waitForSuccesses(1)
        let second = HeartbeatResults.monitoring(channel, timeout: .seconds(5), stopAfterSuccesses: 3)
        try await second.waitForSuccesses(3)
        #expect(!first.all.contains { $0 == .failure(.closed) }, "stopping is not closing")
        channel.close()
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}
