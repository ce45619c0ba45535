import Glibc
import Logging
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The engine driving real programs through ``ProcessRuntime``.
struct RuntimeHarness: Sendable {
    let manager: ProcessManager<ProcessRuntime, ContinuousClock>
    let runtime: ProcessRuntime
    let registry: MetricsRegistry
    let ports: PortAllocator

    /// Builds a manager + runtime over the shared test primitives, runs both for `body`, then
    /// shuts everything down and checks nothing is left running.
    static func with<T: Sendable>(
        portRange: ClosedRange<Int> = 39_000...39_099,
        configure: (inout EngineConfiguration) -> Void = { _ in },
        logger runtimeLogger: Logger? = nil,
        childOutputLogging: ChildOutputLogging = ChildOutputLogging(),
        resourceSampling: ResourceSamplingPacing = RuntimeHarness.fastResourceSampling,
        _ body: @Sendable (RuntimeHarness) async throws -> T
    ) async throws -> T {
        let shared = TestRuntime.shared
        let ports = PortAllocator(range: portRange)
        let services = RuntimeServices(
            watcher: shared.watcher, spawner: shared.spawner, stopper: shared.stopper, capture: shared.capture,
            ports: ports, guardian: nil, stateFile: nil, killWithAgent: true)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let registry = MetricsRegistry()
        var configuration = EngineConfiguration()
        configuration.errorBackoff = Backoff(initial: .milliseconds(20), maximum: .milliseconds(80), multiplier: 2, jitter: 0)
        configure(&configuration)
        let runtime = try ProcessRuntime(
            services: services, registry: registry, logger: runtimeLogger ?? logger, childOutputLogging: childOutputLogging, random: { 0.5 },
            resourceSampling: resourceSampling)
        let manager = try ProcessManager(syncer: runtime, configuration: configuration, registry: registry, logger: logger)
        runtime.bind(to: manager)
        let harness = RuntimeHarness(manager: manager, runtime: runtime, registry: registry, ports: ports)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await manager.run()
                return nil
            }
            group.addTask {
                await runtime.run()
                return nil
            }
            let result: T
            do {
                result = try await body(harness)
            } catch {
                _ = await manager.shutdown(gracePeriod: .zero, deadline: .seconds(10))
                group.cancelAll()
                throw error
            }
            let report = await manager.shutdown(deadline: .seconds(20))
            #expect(report.stragglers.isEmpty)
            group.cancelAll()
            return result
        }
    }

    /// Resource samples a few milliseconds apart while scraped (a test scrapes until it sees a
    /// value), instead of the agent's 10 s and 0.03 % of a core.
    static let fastResourceSampling = ResourceSamplingPacing(minimumPeriod: .milliseconds(20), cpuBudget: 0.5)

    func waitFor(_ id: ProcessID, _ state: ProcessState, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let manager = self.manager
        try await eventually("\(id) reaches \(state)", timeout: .seconds(20)) { (manager.status(of: id)?.state ?? .finished) >= state }
    }

    func output(of id: ProcessID) -> [String] {
        runtime.recentOutput(of: id)?.map(\.text) ?? []
    }

    func sample(_ series: String) -> Double? {
        for line in registry.exposition().split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

func managed(
    _ command: [String], port: PortRequest = .none, restart: RestartPolicy = .always,
    backoff: RestartBackoff = RestartBackoff(delays: Backoff(initial: .milliseconds(10), maximum: .milliseconds(10), multiplier: 1, jitter: 0), resetAfter: .seconds(60)),
    grace: Duration = .seconds(5), heartbeat: HeartbeatSettings? = nil, health: ProbeSettings? = nil,
    readiness: ProbeSettings? = nil, startup: ProbeSettings? = nil,
    workingDirectory: String? = nil, environment: [String: String] = baseEnvironment
) -> ManagedProcess {
    ManagedProcess(
        command: command, environment: environment, workingDirectory: workingDirectory, port: port, restart: restart,
        backoff: backoff, terminationGracePeriod: grace, heartbeat: heartbeat, liveness: health, readiness: readiness, startup: startup)
}

@Suite("Process runtime (syncer)", .timeLimit(.minutes(3)))
struct ProcessRuntimeTests {
    @Test("argv, env, working dir and ${PORT} reach the child; restart never ends the worker")
    func spawnHonoursConfig() async throws {
        let directory = try makeTemporaryDirectory()
        try await RuntimeHarness.with { h in
            var environment = baseEnvironment
            environment["GREETING"] = "hello world"
            let config = managed(
                ["sh", "-c", "echo \"$GREETING|$(pwd)|$1|$PORT\"", "sh", "arg-${PORT}"],
                port: .auto, restart: .never, workingDirectory: directory, environment: environment)
            h.manager.update("echo", config: config, type: .create)
            try await h.waitFor("echo", .finished)
            // The exit can be noticed before the pipe delivered the last line; the logs keep it.
            try await eventually("the echoed line") { !h.output(of: "echo").isEmpty }
            let line = try #require(h.output(of: "echo").first)
            let fields = line.split(separator: "|").map(String.init)
            #expect(fields.count == 4)
            #expect(fields[0] == "hello world")
            #expect(fields[1] == directory)
            let port = try #require(Int(fields[3]))
            #expect(h.ports.range.contains(port))
            #expect(fields[2] == "arg-\(port)")
            #expect(h.manager.status(of: "echo")?.terminationReason?.contains("restart: never") == true)
            #expect(h.ports.inUse == 0, "the port is released once the worker is terminated")
            #expect(!h.ports.isAllocated(port))
        }
    }

    @Test("200 crash/restart cycles leave zero zombies and count every restart")
    func crashLoopLeavesNoZombies() async throws {
        try await RuntimeHarness.with { h in
            h.manager.update("crasher", config: managed(["sh", "-c", "exit 3"]), type: .create)
            try await eventually("200 restarts", timeout: .seconds(60)) { (h.manager.status(of: "crasher")?.restartCount ?? 0) >= 200 }
            #expect((h.sample("procmgr_restarts_total{process=\"crasher\",reason=\"exit\"}") ?? 0) >= 200)
            h.manager.terminate("crasher")
            try await h.waitFor("crasher", .finished)
            #expect(h.sample("procmgr_restarts_total{process=\"crasher\",reason=\"exit\"}") == nil, "series removed with the process")
            try await eventually("no zombie children") { ourZombies().isEmpty }
        }
    }

    @Test("restart delays grow with the backoff up to its cap")
    func backoffGrows() async throws {
        try await RuntimeHarness.with { h in
            let backoff = RestartBackoff(delays: Backoff(initial: .milliseconds(20), maximum: .milliseconds(160), multiplier: 2, jitter: 0), resetAfter: .seconds(60))
            h.manager.update("flaky", config: managed(["sh", "-c", "exit 1"], backoff: backoff), type: .create)
            try await eventually("six restarts", timeout: .seconds(20)) { (h.runtime.snapshot(of: "flaky")?.restartDelays.count ?? 0) >= 6 }
            let delays = Array(try #require(h.runtime.snapshot(of: "flaky")).restartDelays.prefix(6))
            #expect(delays == [.milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(160), .milliseconds(160), .milliseconds(160)])
        }
    }

    @Test("the backoff resets once the program ran for reset_after")
    func backoffResets() async throws {
        try await RuntimeHarness.with { h in
            let backoff = RestartBackoff(delays: Backoff(initial: .milliseconds(50), maximum: .seconds(5), multiplier: 2, jitter: 0), resetAfter: .milliseconds(200))
            // Runs well past reset_after before each crash, so every restart is a first failure.
            h.manager.update("slow-crash", config: managed(["sh", "-c", "sleep 1; exit 1"], backoff: backoff), type: .create)
            try await eventually("three restarts", timeout: .seconds(20)) { (h.runtime.snapshot(of: "slow-crash")?.restartDelays.count ?? 0) >= 3 }
            let delays = Array(try #require(h.runtime.snapshot(of: "slow-crash")).restartDelays.prefix(3))
            #expect(delays == [.milliseconds(50), .milliseconds(50), .milliseconds(50)])
        }
    }

    @Test("a missing executable is a clear spawn error, retried with backoff, counted per process")
    func missingExecutable() async throws {
        try await RuntimeHarness.with { h in
            h.manager.update("ghost", config: managed(["/nonexistent/bin/ghost"]), type: .create)
            h.manager.update("fine", config: managed(["sleep", "600"]), type: .create)
            try await eventually("two spawn failures", timeout: .seconds(10)) {
                (h.sample("procmgr_errors_total{process=\"ghost\",phase=\"spawn\"}") ?? 0) >= 2
            }
            let status = try #require(h.manager.status(of: "ghost"))
            #expect(status.state == .starting)
            #expect(status.lastError?.contains("no such file '/nonexistent/bin/ghost'") == true, "last error: \(status.lastError ?? "-")")
            #expect(status.consecutiveFailures >= 1)
            try await h.waitFor("fine", .running)
            #expect(h.manager.status(of: "fine")?.healthy == true, "a failing neighbour does not disturb others")
        }
    }

    @Test("stop: TERM-obeying child, TERM-ignoring child killed at grace, grandchildren gone")
    func stops() async throws {
        try await RuntimeHarness.with { h in
            h.manager.update("polite", config: managed(["sleep", "600"]), type: .create)
            h.manager.update("stubborn", config: managed(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"], grace: .milliseconds(300)), type: .create)
            h.manager.update("family", config: managed(["sh", "-c", "sleep 600 & sleep 600"]), type: .create)
            for id in ["polite", "stubborn", "family"] { try await h.waitFor(id, .running) }
            try await eventually("stubborn installed its trap") { h.output(of: "stubborn").contains("ready") }
            let groups = ["polite", "stubborn", "family"].compactMap { h.runtime.snapshot(of: $0)?.pid }
            #expect(groups.count == 3)
            let clock = ContinuousClock()
            let start = clock.now
            _ = h.manager.syncKnownProcesses([String]())
            for id in ["polite", "stubborn", "family"] { try await h.waitFor(id, .terminated) }
            let elapsed = start.duration(to: clock.now)
            #expect(elapsed >= .milliseconds(300), "the stubborn child got its grace period")
            for pgid in groups { #expect(ProcFS.members(ofGroup: pgid).isEmpty, "group \(pgid) is empty") }
            #expect(h.sample("procmgr_termination_duration_seconds_count") == 3)
        }
    }

    @Test("a config change restarts only that process, which keeps its port")
    func configChangeRestartsOnlyThatProcess() async throws {
        try await RuntimeHarness.with { h in
            h.manager.update("a", config: managed(["sleep", "600"], port: .auto), type: .create)
            h.manager.update("b", config: managed(["sleep", "600"]), type: .create)
            try await h.waitFor("a", .running)
            try await h.waitFor("b", .running)
            let before = (h.runtime.snapshot(of: "a")!, h.runtime.snapshot(of: "b")!)
            h.manager.update("a", config: managed(["sleep", "601"], port: .auto))
            try await eventually("a restarted") { h.runtime.snapshot(of: "a")?.pid.map { $0 != before.0.pid } ?? false }
            let after = (h.runtime.snapshot(of: "a")!, h.runtime.snapshot(of: "b")!)
            #expect(after.0.port == before.0.port)
            #expect(after.1.pid == before.1.pid, "b untouched")
            #expect(h.sample("procmgr_restarts_total{process=\"a\",reason=\"config\"}") == 1)
        }
    }

    @Test("heartbeat latency is recorded, and a child that stops answering is restarted")
    func heartbeats() async throws {
        try await RuntimeHarness.with { h in
            let settings = HeartbeatSettings(interval: .milliseconds(50), timeout: .milliseconds(300))
            h.manager.update("beat", config: managed([try testHostPath(), "heartbeat-child"], grace: .milliseconds(200), heartbeat: settings), type: .create)
            try await h.waitFor("beat", .running)
            try await eventually("three heartbeats measured") {
                (h.sample("procmgr_heartbeat_latency_seconds_count{process=\"beat\"}") ?? 0) >= 3
            }
            let frozen = try #require(h.runtime.snapshot(of: "beat")?.pid)
            #expect(kill(frozen, SIGSTOP) == 0)
            try await eventually("restarted for a missed heartbeat", timeout: .seconds(10)) {
                h.sample("procmgr_restarts_total{process=\"beat\",reason=\"heartbeat\"}") == 1
            }
            try await eventually("a new child") { h.runtime.snapshot(of: "beat")?.pid.map { $0 != frozen } ?? false }
            #expect((h.sample("procmgr_heartbeat_timeouts_total{process=\"beat\"}") ?? 0) >= 1)
            #expect(!processIsAlive(frozen), "the frozen child was killed")
        }
    }

    @Test("with restart: never, a missed heartbeat stops the program for good (kubelet's liveness kill under restartPolicy Never)")
    func heartbeatFailureHonoursRestartNever() async throws {
        try await RuntimeHarness.with { h in
            // A 2 s timeout: with `never`, one spurious timeout on a loaded machine before the
            // SIGSTOP would end the program and this test with it.
            let settings = HeartbeatSettings(interval: .milliseconds(50), timeout: .seconds(2))
            h.manager.update("beat", config: managed([try testHostPath(), "heartbeat-child"], restart: .never, grace: .milliseconds(200), heartbeat: settings), type: .create)
            try await h.waitFor("beat", .running)
            try await eventually("a heartbeat measured") {
                (h.sample("procmgr_heartbeat_latency_seconds_count{process=\"beat\"}") ?? 0) >= 1
            }
            let frozen = try #require(h.runtime.snapshot(of: "beat")?.pid)
            #expect(kill(frozen, SIGSTOP) == 0)
            try await h.waitFor("beat", .finished)
            let status = try #require(h.manager.status(of: "beat"))
            #expect(status.terminationReason?.contains("heartbeat check failed; restart: never") == true, "\(status)")
            #expect(status.restartCount == 0)
            #expect(h.sample("procmgr_restarts_total{process=\"beat\",reason=\"heartbeat\"}") == nil)
            #expect(!processIsAlive(frozen), "the frozen child was killed")
            #expect(h.runtime.snapshot(of: "beat")?.pid == nil, "no new child")
        }
    }
}

private func processIsAlive(_ pid: Int32) -> Bool {
    guard let stat = ProcStat.read(pid: pid) else { return false }
    return !stat.isZombie
}
