import Glibc
import ProcmgrEngine
@testable import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// `python3 -m http.server` on `$PORT`, bound to loopback.
private let httpServer = ["python3", "-m", "http.server", "${PORT}", "--bind", "127.0.0.1", "--directory", "/"]
private let sleeper = ["sleep", "100000"]

private func exec(_ script: String, interval: Duration = .milliseconds(50), timeout: Duration = .seconds(2), failures: Int = 1) -> ProbeSettings {
    ProbeSettings(action: .exec(command: ["sh", "-c", script]), interval: interval, timeout: timeout, failureThreshold: failures)
}

private func series(_ name: String, _ process: String, _ labels: String = "") -> String {
    "\(name){process=\"\(process)\"\(labels.isEmpty ? "" : ",\(labels)")}"
}

private func checks(_ process: String, _ probe: ProbeSettings.Kind, _ result: ProbeResult) -> String {
    series("procmgr_probe_checks_total", process, "probe=\"\(probe.rawValue)\",result=\"\(result.rawValue)\"")
}

private func restarts(_ process: String, _ reason: RestartReason) -> String {
    series("procmgr_restarts_total", process, "reason=\"\(reason.rawValue)\"")
}

@Suite("Probes (real children, the shared scheduler)", .timeLimit(.minutes(3)))
struct ProbeTests {
    @Test("exec readiness flips ready both ways without a restart; conditions are reported on every flip")
    func execReadinessFlips() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_300...39_309) { h in
            let reported = LockedState<[ProcessConditions]>([])
            let runtime = h.runtime
            let manager = h.manager
            runtime.bind(ProcessRuntime.EngineHooks(
                requestSync: { manager.requestSync($0) }, recordRestart: { id, _ in manager.recordRestart(id) },
                setHealthy: { manager.setHealthy($0, $1) },
                conditionsChanged: { id in if let conditions = runtime.conditions(of: id) { reported.withLock { $0.append(conditions) } } }))
            let readiness = exec("test -f \"$PWD/ready\" && test -n \"$PORT\"", failures: 2)
            h.manager.update("api", config: managed(sleeper, port: .auto, readiness: readiness, workingDirectory: directory), type: .create)
            try await h.waitFor("api", .running)
            try await eventually("two failed readiness checks") { (h.sample(checks("api", .readiness, .failure)) ?? 0) >= 2 }
            #expect(h.runtime.snapshot(of: "api")?.ready == false, "not ready until the first success")
            #expect(h.sample(series("procmgr_process_ready", "api")) == 0)
            #expect(h.runtime.conditions(of: "api")?.healthy == true, "no liveness probe: healthy while running")
            let file = directory + "/ready"
            close(open(file, O_CREAT | O_WRONLY, 0o644))
            try await eventually("ready") { h.runtime.snapshot(of: "api")?.ready == true }
            #expect(h.sample(series("procmgr_process_ready", "api")) == 1)
            unlink(file)
            try await eventually("not ready again") { h.runtime.snapshot(of: "api")?.ready == false }
            #expect(h.sample(series("procmgr_process_ready", "api")) == 0)
            #expect(h.runtime.snapshot(of: "api")?.restarts == 0, "readiness never restarts")
            let pid = try #require(h.runtime.snapshot(of: "api")?.pid)
            kill(pid, SIGKILL)
            try await eventually("the exit is reported") { reported.withLock { $0.contains { !$0.programRunning } } }
            let seen = reported.withLock { $0 }
            let readyFlips = seen.map(\.ready)
            #expect(seen.first == ProcessConditions(programRunning: true, startupPassed: true, ready: false, healthy: true, lastExitSucceeded: nil), "\(seen)")
            #expect(Array(readyFlips.prefix(3)) == [false, true, false], "\(seen)")
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 != $1 }, "only flips are reported: \(seen)")
            h.manager.terminate("api")
            try await h.waitFor("api", .finished)
            #expect(h.sample(series("procmgr_process_ready", "api")) == nil, "series removed with the process")
            #expect(h.sample(checks("api", .readiness, .success)) == nil)
            #expect(h.runtime.probeScheduler.entryCount == 0)
        }
    }

    @Test("startup holds liveness and readiness, and failing it restarts with reason startup")
    func startupFailsAndRestarts() async throws {
        try await RuntimeHarness.with(portRange: 39_310...39_319) { h in
            let config = managed(
                sleeper, grace: .milliseconds(200), health: exec("true"), readiness: exec("true"), startup: exec("false", failures: 3))
            h.manager.update("slow", config: config, type: .create)
            try await eventually("restarted for startup", timeout: .seconds(20)) { (h.sample(restarts("slow", .startup)) ?? 0) >= 1 }
            #expect((h.sample(checks("slow", .startup, .failure)) ?? 0) >= 3)
            #expect(h.sample(checks("slow", .liveness, .success)) == nil, "liveness held by startup")
            #expect(h.sample(checks("slow", .readiness, .success)) == nil, "readiness held by startup")
            #expect(h.sample(series("procmgr_health_checks_total", "slow", "result=\"success\"")) == nil)
            #expect(h.runtime.conditions(of: "slow")?.startupPassed == false)
            #expect(h.manager.status(of: "slow")?.healthy == false)
            #expect((h.sample(series("procmgr_errors_total", "slow", "phase=\"health\"")) ?? 0) >= 3)
        }
    }

    @Test("after startup passes, a failing liveness probe restarts with reason liveness (aliases counted too)")
    func livenessRestarts() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_320...39_329) { h in
            // Healthy while the file exists: removing it fails liveness.
            let file = directory + "/alive"
            close(open(file, O_CREAT | O_WRONLY, 0o644))
            let config = managed(
                sleeper, grace: .milliseconds(200), health: exec("test -f \(file)", failures: 2), startup: exec("true"), workingDirectory: directory)
            h.manager.update("live", config: config, type: .create)
            try await eventually("healthy") { h.manager.status(of: "live")?.healthy == true }
            let conditions = try #require(h.runtime.conditions(of: "live"))
            #expect(conditions.startupPassed && conditions.healthy && conditions.ready)
            #expect(h.sample(checks("live", .startup, .success)) == 1, "startup checked until it passed, then never again")
            #expect(h.sample(series("procmgr_process_healthy", "live")) == 1)
            let first = try #require(h.runtime.snapshot(of: "live")?.pid)
            unlink(file)
            try await eventually("restarted for liveness", timeout: .seconds(20)) { (h.sample(restarts("live", .liveness)) ?? 0) >= 1 }
            #expect((h.sample(series("procmgr_health_checks_total", "live", "result=\"failure\"")) ?? 0) >= 2)
            #expect((h.sample(checks("live", .liveness, .failure)) ?? 0) >= 2)
            #expect(h.sample(restarts("live", .startup)) == nil)
            try await eventually("a new child") { h.runtime.snapshot(of: "live")?.pid.map { $0 != first } ?? false }
        }
    }

    @Test("tcp and http probes on the process's port; a tcp probe on a closed port fails liveness")
    func tcpAndHTTP() async throws {
        let closed = try freeLoopbackPort()
        try await RuntimeHarness.with(portRange: 39_330...39_339) { h in
            let tcp = ProbeSettings(action: .tcp(port: nil), interval: .milliseconds(50), timeout: .seconds(1))
            let http = ProbeSettings(action: .http(path: "/", port: nil, headers: ["X-Probe": "procmgr"]), interval: .milliseconds(50), timeout: .seconds(2))
            h.manager.update("web", config: managed(httpServer, port: .auto, health: http, readiness: tcp, startup: tcp), type: .create)
            try await eventually("ready and healthy", timeout: .seconds(20)) {
                h.runtime.snapshot(of: "web")?.ready == true && h.manager.status(of: "web")?.healthy == true
            }
            #expect((h.sample(checks("web", .readiness, .success)) ?? 0) >= 1)
            #expect((h.sample(checks("web", .liveness, .success)) ?? 0) >= 1)
            #expect(h.registry.exposition().contains("procmgr_probe_duration_seconds_count{process=\"web\",probe=\"readiness\",result=\"success\"}"))
            let dead = ProbeSettings(action: .tcp(port: closed), interval: .milliseconds(50), timeout: .seconds(1), failureThreshold: 2)
            h.manager.update("dead", config: managed(sleeper, grace: .milliseconds(200), health: dead), type: .create)
            try await eventually("restarted for liveness", timeout: .seconds(20)) { (h.sample(restarts("dead", .liveness)) ?? 0) >= 1 }
            #expect((h.sample(checks("dead", .liveness, .failure)) ?? 0) >= 2)
        }
    }

    @Test("an exec probe hanging past its timeout is killed with its whole group and leaves no zombie")
    func execTimeoutKillsTheGroup() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_340...39_349) { h in
            // The shell starts a grandchild in its group, records its pid and waits for it.
            let hang = ProbeSettings(
                action: .exec(command: ["sh", "-c", "sleep 1000 & echo $! >> \"$PWD/grandchildren\"; wait"]),
                interval: .milliseconds(100), timeout: .milliseconds(200), failureThreshold: 1000)
            h.manager.update("hung", config: managed(sleeper, readiness: hang, workingDirectory: directory), type: .create)
            try await eventually("two timeouts", timeout: .seconds(20)) { (h.sample(checks("hung", .readiness, .timeout)) ?? 0) >= 2 }
            let recorded = readFile(directory + "/grandchildren")
            let grandchildren = recorded.split(separator: "\n").compactMap { Int32($0) }
            #expect(grandchildren.count >= 2)
            h.manager.terminate("hung")
            try await h.waitFor("hung", .finished)
            for pid in grandchildren.prefix(2) {
                try await eventually("grandchild \(pid) killed with the probe's group") { !isAlive(pid) }
            }
            try await eventually("no zombie children remain") { ourZombies().isEmpty }
        }
    }

    @Test("an exec probe whose command does not exist is a counted failure, not a crash")
    func missingCommand() async throws {
        try await RuntimeHarness.with(portRange: 39_350...39_359) { h in
            let missing = ProbeSettings(action: .exec(command: ["/nonexistent/probe-command"]), interval: .milliseconds(50), timeout: .seconds(1))
            h.manager.update("gone", config: managed(sleeper, readiness: missing), type: .create)
            try await eventually("three failures") { (h.sample(checks("gone", .readiness, .failure)) ?? 0) >= 3 }
            #expect(h.runtime.snapshot(of: "gone")?.ready == false)
            #expect(h.manager.status(of: "gone")?.state == .running, "readiness never stops the program")
            #expect(h.runtime.snapshot(of: "gone")?.restarts == 0)
        }
    }
}
