import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Synchronization
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
func spawnWithHeartbeat(_ arguments: [String], clock: (some Clock<Duration>)? = ContinuousClock?.none) async throws -> (CapturedChild, HeartbeatChannel) {
    let reactor = TestRuntime.shared.capture.reactor
    let channel: HeartbeatChannel
    if let clock {
        channel = try HeartbeatChannel(reactor: reactor, clock: clock)
    } else {
        channel = try HeartbeatChannel(reactor: reactor)
    }
    let environment = baseEnvironment.merging(channel.environment) { _, new in new }
    let child = try await spawnCaptured(arguments, environment: environment, inheritedFDs: [channel.inheritedFD])
    channel.childStarted()
    return (child, channel)
}

@Suite("Heartbeat")
struct HeartbeatTests {
    @Test("round-trip latency is measured against a python3 child")
    func latencyAgainstPython() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        var latencies: [Duration] = []
        for _ in 0..<50 {
            latencies.append(try await channel.ping(timeout: .seconds(5)))
        }
        latencies.sort()
        print("[measure] heartbeat RTT (python3 child): median \(latencies[25].milliseconds) ms, max \(latencies.last!.milliseconds) ms")
        #expect(latencies.allSatisfy { $0 > .zero })
        #expect(channel.lastLatency != nil)
        channel.close()
        // The child sees EOF and exits by itself.
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }

    @Test("a child that stops answering times out; late PONGs are ignored; it recovers", arguments: 0..<5)
    func stoppedChildTimesOut(round: Int) async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        _ = try await channel.ping(timeout: .seconds(5))
        #expect(kill(child.pid, SIGSTOP) == 0)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: HeartbeatError.self) { _ = try await channel.ping(timeout: .milliseconds(200)) }
        let waited = start.duration(to: clock.now)
        // Not early; the upper bound only says it did not hang: under the full suite other tests
        // can hold both cooperative threads for seconds, and how fast it fires is a benchmark's job.
        #expect(waited >= .milliseconds(200) && waited < .seconds(30), "timeout took \(waited)")
        do {
            _ = try await channel.ping(timeout: .milliseconds(100))
            Issue.record("a stopped child answered")
        } catch {
            guard case .timeout(_, let after) = error else { throw error }
            #expect(after == .milliseconds(100))
        }
        #expect(kill(child.pid, SIGCONT) == 0)
        // The two late PONGs arrive now and must not satisfy this new ping by mistake; it is
        // answered (a ping that returns took less than its timeout by construction).
        _ = try await channel.ping(timeout: .seconds(5))
        _ = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5))
    }

    @Test("a dead child closes the channel")
    func deadChildCloses() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        kill(child.pid, SIGKILL)
        _ = await child.process.exit.wait(timeout: .seconds(5))
        await #expect(throws: HeartbeatError.closed) { _ = try await channel.ping(timeout: .seconds(5)) }
    }

    @Test("the Swift HeartbeatResponder answers, and exits when the agent's end closes")
    func swiftResponder() async throws {
        let (child, channel) = try await spawnWithHeartbeat([try testHostPath(), "heartbeat-child"])
        try await child.output.waitFor(line: "ready")
        for _ in 0..<10 { _ = try await channel.ping(timeout: .seconds(5)) }
        channel.close()
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }

    @Test("examples/heartbeat_child.py answers and exits on EOF")
    func pythonExample() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", try #require(exampleScriptPath())])
        try await child.output.waitFor(line: "ready")
        for _ in 0..<10 { _ = try await channel.ping(timeout: .seconds(5)) }
        channel.close()
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }

    @Test("timeouts follow the injected clock")
    func injectedClock() async throws {
        let clock = ManualClock()
        // `sleep` inherits the descriptor and never answers.
        let (child, channel) = try await spawnWithHeartbeat(["sleep", "600"], clock: clock)
        let ping = Task { () -> Result<Duration, HeartbeatError> in
            do throws(HeartbeatError) { return .success(try await channel.ping(timeout: .seconds(30))) } catch { return .failure(error) }
        }
        try await clock.waitForSleepers(1)
        clock.advance(by: .seconds(29))
        #expect(clock.sleeperCount == 1, "fired before its deadline")
        clock.advance(by: .seconds(1))
        let result = await ping.value
        guard case .failure(.timeout(let sequence, let after)) = result else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(sequence == 1 && after == .seconds(30))
        channel.close()
        _ = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5))
    }

    @Test("monitor() pings at an interval and ends when the child goes away")
    func monitorLoop() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let results = Mutex<[Result<Duration, HeartbeatError>]>([])
        let fiveOK = OneShot<Void>()
        let monitor = Task {
            await channel.monitor(interval: .milliseconds(5), timeout: .seconds(5)) { result in
                let count = results.withLock { list -> Int in
                    list.append(result)
                    return list.count
                }
                if count == 5 { fiveOK.fulfill(()) }
            }
        }
        #expect(await fiveOK.wait(timeout: .seconds(10)) != nil)
        kill(child.pid, SIGKILL)
        await monitor.value
        let all = results.withLock { $0 }
        #expect(all.prefix(5).allSatisfy { if case .success = $0 { true } else { false } })
        if case .failure(.closed) = all.last {} else { Issue.record("monitor must end with .closed, got \(String(describing: all.last))") }
    }

    @Test("startMonitoring() pings from the loop thread, reports timeouts, recovers, and ends with .closed", arguments: 0..<3)
    func loopDrivenMonitor(round: Int) async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let results = Mutex<[Result<Duration, HeartbeatError>]>([])
        let threeOK = OneShot<Void>()
        let timedOut = OneShot<Void>()
        let recovered = OneShot<Void>()
        let closed = OneShot<Void>()
        let reactor = TestRuntime.shared.capture.reactor
        let offLoop = Mutex(0)
        channel.startMonitoring(interval: .milliseconds(5), timeout: .milliseconds(300)) { result in
            if !reactor.isLoopThread { offLoop.withLock { $0 += 1 } }
            let (successes, sawTimeout) = results.withLock { list -> (Int, Bool) in
                list.append(result)
                let sawTimeout = list.contains { if case .failure(.timeout) = $0 { true } else { false } }
                return (list.count { if case .success = $0 { true } else { false } }, sawTimeout)
            }
            switch result {
            case .success:
                if successes == 3 { threeOK.fulfill(()) }
                if sawTimeout { recovered.fulfill(()) }
            case .failure(.timeout): timedOut.fulfill(())
            case .failure(.closed): closed.fulfill(())
            case .failure: break
            }
        }
        #expect(await threeOK.wait(timeout: .seconds(10)) != nil)
        #expect(channel.lastLatency != nil)
        #expect(kill(child.pid, SIGSTOP) == 0)
        #expect(await timedOut.wait(timeout: .seconds(10)) != nil)
        #expect(kill(child.pid, SIGCONT) == 0)
        #expect(await recovered.wait(timeout: .seconds(10)) != nil)
        kill(child.pid, SIGKILL)
        #expect(await closed.wait(timeout: .seconds(10)) != nil)
        let all = results.withLock { $0 }
        #expect(all.count { if case .failure(.closed) = $0 { true } else { false } } == 1, "exactly one .closed")
        if case .failure(.closed) = all.last {} else { Issue.record("must end with .closed, got \(String(describing: all.last))") }
        #expect(offLoop.withLock { $0 } == 0, "results must be delivered on the loop thread")
        _ = await child.process.exit.wait(timeout: .seconds(5))
    }

    @Test("stopMonitoring() ends the pings without closing the channel")
    func stopMonitoring() async throws {
        let (child, channel) = try await spawnWithHeartbeat(["python3", "-c", pythonResponder])
        try await child.output.waitFor(line: "ready")
        let first = OneShot<Void>()
        channel.startMonitoring(interval: .milliseconds(5), timeout: .seconds(5)) { _ in first.fulfill(()) }
        #expect(await first.wait(timeout: .seconds(10)) != nil)
        channel.stopMonitoring()
        // The channel still works for explicit pings.
        _ = try await channel.ping(timeout: .seconds(5))
        channel.close()
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }
}
