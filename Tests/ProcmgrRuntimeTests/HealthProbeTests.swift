import Glibc
import ProcmgrEngine
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

@Suite("Probe threshold")
struct ProbeThresholdTests {
    @Test("healthy after success_threshold successes in a row, unhealthy after failure_threshold failures")
    func thresholds() {
        var verdict = ProbeThreshold(successThreshold: 2, failureThreshold: 3)
        #expect(verdict.record(.success) == nil)
        #expect(verdict.record(.failure) == nil, "a failure breaks the run of successes")
        #expect(verdict.record(.success) == nil)
        #expect(verdict.record(.success) == .passed)
        #expect(verdict.record(.success) == nil, "only the transition is reported")
        #expect(verdict.record(.timeout) == nil)
        #expect(verdict.record(.failure) == nil)
        #expect(verdict.isPassing, "still healthy below the failure threshold")
        #expect(verdict.record(.timeout) == .failed, "timeouts count as failures")
        #expect(verdict.record(.failure) == nil)
    }

    @Test("a program that never answers turns unhealthy without having been healthy")
    func neverHealthy() {
        var verdict = ProbeThreshold(successThreshold: 1, failureThreshold: 2)
        #expect(verdict.record(.failure) == nil)
        #expect(verdict.record(.failure) == .failed)
    }
}

/// `python3 -m http.server` on `$PORT`, bound to loopback, serving `directory`.
private func httpServer(directory: String) -> [String] {
    ["python3", "-m", "http.server", "${PORT}", "--bind", "127.0.0.1", "--directory", directory]
}

@Suite("Health probes (real HTTP children)", .timeLimit(.minutes(3)))
struct HealthProbeTests {
    @Test("a child serving HTTP on $PORT becomes healthy only after success_threshold probes")
    func becomesHealthy() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_200...39_219) { h in
            let health = ProbeSettings(action: .http(path: "/", port: nil, headers: [:]), interval: .milliseconds(50), timeout: .seconds(2), failureThreshold: 100, successThreshold: 3)
            h.manager.update("web", config: managed(httpServer(directory: directory), port: .auto, health: health), type: .create)
            try await h.waitFor("web", .running)
            let gauge = "procmgr_process_healthy{process=\"web\"}"
            let successes = "procmgr_health_checks_total{process=\"web\",result=\"success\"}"
            // The gauge is set after the counter, so reading it first makes this ordering exact.
            var observations: [(healthy: Double?, successes: Double?)] = []
            try await eventually("web is healthy", timeout: .seconds(20)) {
                observations.append((h.sample(gauge), h.sample(successes)))
                return observations.last?.healthy == 1
            }
            for observation in observations where observation.healthy == 1 {
                #expect((observation.successes ?? 0) >= 3, "healthy before three successes: \(observations)")
            }
            #expect(observations.first?.healthy == 0, "not healthy at start: \(observations.prefix(3))")
            #expect(h.manager.status(of: "web")?.healthy == true, "the engine follows the probe")
            #expect(h.sample("procmgr_restarts_total{process=\"web\",reason=\"liveness\"}") == nil)
        }
    }

    @Test("a child that stops answering is restarted with reason liveness; results and errors are counted")
    func stopsAnswering() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_220...39_239) { h in
            let health = ProbeSettings(action: .http(path: "/", port: nil, headers: [:]), interval: .milliseconds(100), timeout: .milliseconds(200), failureThreshold: 2, successThreshold: 1)
            h.manager.update("web", config: managed(httpServer(directory: directory), port: .auto, grace: .milliseconds(200), health: health), type: .create)
            try await eventually("web is healthy", timeout: .seconds(20)) { h.manager.status(of: "web")?.healthy == true }
            let frozen = try #require(h.runtime.snapshot(of: "web")?.pid)
            let clock = ContinuousClock()
            let stoppedAt = clock.now
            #expect(kill(frozen, SIGSTOP) == 0)  // the kernel still accepts connections; nobody answers
            try await eventually("unhealthy", timeout: .seconds(10)) { h.sample("procmgr_process_healthy{process=\"web\"}") == 0 }
            let unhealthyAt = clock.now
            #expect(h.manager.status(of: "web")?.healthy == false)
            try await eventually("restarted for health", timeout: .seconds(10)) {
                h.sample("procmgr_restarts_total{process=\"web\",reason=\"liveness\"}") == 1
            }
            try await eventually("a new child") { h.runtime.snapshot(of: "web")?.pid.map { $0 != frozen } ?? false }
            let restartedAt = clock.now
            #expect((h.sample("procmgr_health_checks_total{process=\"web\",result=\"timeout\"}") ?? 0) >= 2)
            #expect((h.sample("procmgr_errors_total{process=\"web\",phase=\"health\"}") ?? 0) >= 2)
            #expect((h.sample("procmgr_health_checks_total{process=\"web\",result=\"success\"}") ?? 0) >= 1)
            try await eventually("the frozen child is gone") { !isAlive(frozen) }
            try await eventually("the new child is healthy", timeout: .seconds(20)) { h.manager.status(of: "web")?.healthy == true }
            print("[measure] health: SIGSTOP → unhealthy \(stoppedAt.duration(to: unhealthyAt).milliseconds) ms (2 × 200 ms timeouts, 100 ms interval), unhealthy → new child \(unhealthyAt.duration(to: restartedAt).milliseconds) ms (grace 200 ms, backoff 10 ms)")
            h.manager.terminate("web")
            try await h.waitFor("web", .finished)
            #expect(h.sample("procmgr_health_checks_total{process=\"web\",result=\"timeout\"}") == nil, "series removed with the process")
            #expect(h.sample("procmgr_process_healthy{process=\"web\"}") == nil)
        }
    }

    @Test("with restart: never, a failing probe stops the program and starts no other")
    func healthFailureHonoursRestartNever() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_260...39_279) { h in
            // 404 from the first probe: the file is never there. A 1 s interval keeps the child
            // alive long enough (the second failure) to read its pid after `running`.
            let health = ProbeSettings(action: .http(path: "/missing", port: nil, headers: [:]), interval: .seconds(1), timeout: .seconds(2), failureThreshold: 2, successThreshold: 1)
            h.manager.update("web", config: managed(httpServer(directory: directory), port: .auto, restart: .never, grace: .milliseconds(500), health: health), type: .create)
            try await h.waitFor("web", .running)
            let pid = try #require(h.runtime.snapshot(of: "web")?.pid)
            try await h.waitFor("web", .finished)
            let status = try #require(h.manager.status(of: "web"))
            #expect(status.terminationReason?.contains("liveness probe failed; restart: never") == true, "\(status)")
            #expect(status.restartCount == 0)
            #expect(!isAlive(pid), "the unhealthy child was stopped")
            #expect(h.ports.inUse == 0, "its port is released")
        }
    }

    @Test("repeated health restarts back off, and the backoff resets after reset_after of health")
    func healthRestartsBackOff() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_240...39_259) { h in
            // Each test has its own port range: tests run in parallel, and a probe must reach only
            // its own server.
            // 404 while the file is missing: every child fails its probe at once.
            let health = ProbeSettings(action: .http(path: "/ok", port: nil, headers: [:]), interval: .milliseconds(200), timeout: .seconds(2), failureThreshold: 3, successThreshold: 1)
            let backoff = RestartBackoff(delays: Backoff(initial: .milliseconds(50), maximum: .seconds(2), multiplier: 2, jitter: 0), resetAfter: .milliseconds(300))
            h.manager.update("web", config: managed(httpServer(directory: directory), port: .auto, backoff: backoff, grace: .milliseconds(500), health: health), type: .create)
            try await eventually("two health restarts", timeout: .seconds(30)) { (h.runtime.snapshot(of: "web")?.restartDelays.count ?? 0) >= 2 }
            #expect(Array(try #require(h.runtime.snapshot(of: "web")).restartDelays.prefix(2)) == [.milliseconds(50), .milliseconds(100)])

            let file = directory + "/ok"
            let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            #expect(fd >= 0)
            close(fd)
            try await eventually("healthy again", timeout: .seconds(30)) { h.manager.status(of: "web")?.healthy == true }
            let clock = ContinuousClock()
            let healthyAt = clock.now
            let delaysBefore = try #require(h.runtime.snapshot(of: "web")).restartDelays.count
            // The condition *is* time: the program must stay healthy for reset_after.
            try await eventually("reset_after passed while healthy") { clock.now >= healthyAt.advanced(by: .milliseconds(400)) }
            #expect(h.manager.status(of: "web")?.healthy == true)
            #expect(unlink(file) == 0)
            let brokenAt = clock.now
            try await eventually("restarted once more", timeout: .seconds(30)) { (h.runtime.snapshot(of: "web")?.restartDelays.count ?? 0) > delaysBefore }
            print("[measure] health: endpoint broken → old child stopped and restart scheduled after \(brokenAt.duration(to: clock.now).milliseconds) ms (3 failures at a 200 ms interval, TERM-obeying child)")
            let delays = try #require(h.runtime.snapshot(of: "web")).restartDelays
            #expect(delays[delaysBefore] == .milliseconds(50), "a failure after reset_after of health starts a new series: \(delays)")
            // The delay above is recorded when the restart is scheduled; the counter moves when the
            // restart happens, 50 ms later.
            try await eventually("the third health restart counted", timeout: .seconds(30)) {
                (h.sample("procmgr_restarts_total{process=\"web\",reason=\"liveness\"}") ?? 0) >= 3
            }
            #expect((h.sample("procmgr_health_checks_total{process=\"web\",result=\"failure\"}") ?? 0) >= 9)
        }
    }
}
