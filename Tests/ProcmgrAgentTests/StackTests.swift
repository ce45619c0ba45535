import Foundation
import Glibc
import NIOHTTP1
import ProcmgrTestKit
import Testing

/// Service stacks against a real `procmgr run`: starts wait for `depends_on` (visibly: state,
/// `waiting_for`, gauge), stops run dependents first, `restart: true` follows a dependency's new
/// program, and a reload that only changes `depends_on` restarts nothing.
@Suite(.timeLimit(.minutes(3)))
struct StackTests {
    /// A long-running process that, at SIGTERM, appends "`name` term <ns>", takes 0.2 s to stop
    /// and appends "`name` exit <ns>": parallel stops overlap, ordered ones do not. Once its trap
    /// is set it creates `log.name.trapped` (a SIGTERM before that would end it unrecorded).
    static func recordsStop(_ name: String, into log: String) -> String {
        let onTerm = "echo \(name) term $(date +%s%N) >> \(log); sleep 0.2; echo \(name) exit $(date +%s%N) >> \(log); exit 0"
        return #"["sh", "-c", "trap '\#(onTerm)' TERM; : > \#(log).\#(name).trapped; while :; do sleep 0.05; done"]"#
    }

    /// Waits until every one of `names` has set its SIGTERM trap.
    static func waitUntilTrapped(_ names: [String], log: String) async throws {
        try await eventually("\(names) set their SIGTERM traps", timeout: .seconds(20)) {
            names.allSatisfy { FileManager.default.fileExists(atPath: "\(log).\($0).trapped") }
        }
    }

    /// Each process's SIGTERM and exit times from `log`.
    static func stopTimes(_ log: String) throws -> [String: (term: Int, exit: Int)] {
        var times: [String: (term: Int, exit: Int)] = [:]
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 3, let nanoseconds = Int(fields[2]) else { continue }
            var entry = times[fields[0]] ?? (0, 0)
            if fields[1] == "term" { entry.term = nanoseconds } else { entry.exit = nanoseconds }
            times[fields[0]] = entry
        }
        return times
    }

    /// Every process in `order` got its SIGTERM only after the one before it had exited.
    static func expectStoppedInOrder(_ order: [String], log: String) throws {
        let times = try stopTimes(log)
        #expect(Set(times.keys) == Set(order), "\(times)")
        for (dependent, dependency) in zip(order, order.dropFirst()) {
            let before = try #require(times[dependent]), after = try #require(times[dependency])
            #expect(before.exit > 0 && after.term >= before.exit, "\(dependency) was signalled before \(dependent) exited: \(times)")
        }
    }

    static func write(_ text: String, to file: String) throws {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    @Test("a → b (started) → job → c (completed_successfully): starts in order, c waits visibly, shutdown stops c, b, a in that order")
    func chainStartsInOrderAndStopsInReverse() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        let stops = directory + "/stops"
        try Self.write("""
        agent:
          state_dir: \(directory)/state
          shutdown_grace_period: 20s
        processes:
          - id: c
            command: \(Self.recordsStop("c", into: stops))
            depends_on: { job: { condition: completed_successfully } }
          - id: job
            command: ["sh", "-c", "while [ ! -e \(directory)/go ]; do sleep 0.02; done; exit 0"]
            restart: on-failure
            depends_on: { b: { condition: started } }
          - id: b
            command: \(Self.recordsStop("b", into: stops))
            depends_on: { a: { condition: started } }
          - id: a
            command: \(Self.recordsStop("a", into: stops))
        """, to: file)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }

        // The job runs until the test lets it finish: c waits for it, in `starting`, and says so.
        let waiting = try await agent.waitForProcesses("a, b, job running and c waiting for job") { processes in
            runningPIDs(processes).keys.sorted() == ["a", "b", "job"]
                && processes["c"]?["state"] as? String == "starting"
                && (processes["c"]?["waiting_for"] as? [[String: Any]])?.first?["id"] as? String == "job"
        }
        let entry = try #require((waiting["c"]?["waiting_for"] as? [[String: Any]])?.first)
        #expect(entry["condition"] as? String == "completed_successfully")
        let since = try #require(entry["since"] as? Double)
        #expect(abs(since - Date().timeIntervalSince1970) < 60)
        #expect(waiting["c"]?["pid"] is NSNull)
        #expect((waiting["a"]?["waiting_for"] as? [Any])?.isEmpty == true)
        #expect(try await agent.metric(#"procmgr_dependency_waiting_seconds{process="c",dependency="job"}"#) != nil)
        try await agent.waitForLogLine("waiting for job to complete successfully")

        #expect(FileManager.default.createFile(atPath: directory + "/go", contents: nil))
        let started = try await agent.waitForProcesses("c running after the job completed") { runningPIDs($0)["c"] != nil }
        // The condition holds from the job's exit; its worker reaches `finished` a moment later.
        #expect(started["job"]?["last_exit"] as? String == "exited with code 0")
        try await agent.waitForProcesses("the job finished") { $0["job"]?["state"] as? String == "finished" }
        #expect((started["c"]?["waiting_for"] as? [Any])?.isEmpty == true)
        #expect(try await agent.metric(#"procmgr_dependency_waiting_seconds{process="c",dependency="job"}"#) == nil)
        let times = try ["a", "b", "job", "c"].map { id in try #require(started[id]?["started_at"] as? Double, "\(id)") }
        #expect(times == times.sorted(), "start order a, b, job, c: \(times)")

        try await Self.waitUntilTrapped(["a", "b", "c"], log: stops)
        agent.signal(SIGTERM)
        #expect(try await agent.waitForExit() == .exited(code: 0))
        try Self.expectStoppedInOrder(["c", "b", "a"], log: stops)
    }

    @Test("a reload that removes a stack stops dependents first; what stays keeps running")
    func reloadRemovesStackInOrder() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        let stops = directory + "/stops"
        let header = """
        agent:
          state_dir: \(directory)/state
          shutdown_grace_period: 20s
        processes:
          - id: other
            command: ["sh", "-c", "exec sleep 600"]

        """
        try Self.write(header + """
          - id: x
            command: \(Self.recordsStop("x", into: stops))
          - id: y
            command: \(Self.recordsStop("y", into: stops))
            depends_on: { x: { condition: running } }
          - id: z
            command: \(Self.recordsStop("z", into: stops))
            depends_on: [y]
        """, to: file)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("the stack running") { runningPIDs($0).count == 4 })
        try await Self.waitUntilTrapped(["x", "y", "z"], log: stops)

        try Self.write(header, to: file)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        try await agent.waitForProcesses("the stack gone") { Set($0.keys) == ["other"] }
        try Self.expectStoppedInOrder(["z", "y", "x"], log: stops)
        #expect(runningPIDs(try await agent.processes())["other"] == before["other"])
    }

    @Test("restart: true restarts the dependent when its dependency starts a new program; a dependent without it keeps running")
    func restartPropagation() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try Self.write("""
        agent:
          state_dir: \(directory)/state
        processes:
          - id: db
            command: ["sh", "-c", "exec sleep 600"]
          - id: api
            command: ["sh", "-c", "exec sleep 600"]
            depends_on: { db: { condition: running, restart: true } }
          - id: worker
            command: ["sh", "-c", "exec sleep 600"]
            depends_on: { db: { condition: running } }
        """, to: file)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 })

        #expect(try await agent.request("/api/v1/processes/db/restart", method: .POST).status == 200)
        let after = runningPIDs(try await agent.waitForProcesses("db and api with new programs") { processes in
            let pids = runningPIDs(processes)
            return pids["db"].map { $0 != before["db"] } == true && pids["api"].map { $0 != before["api"] } == true
        })
        #expect(after["worker"] == before["worker"])
        #expect(try await agent.metric(#"procmgr_restarts_total{process="api",reason="dependency"}"#) == 1)
        #expect(try await agent.metric(#"procmgr_restarts_total{process="worker",reason="dependency"}"#) == nil)
    }

    @Test("a reload that only changes depends_on restarts nothing")
    func dependsOnOnlyReloadRestartsNothing() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        func config(_ dependsOn: String) -> String {
            """
            agent:
              state_dir: \(directory)/state
            processes:
              - id: a
                command: ["sh", "-c", "exec sleep 600"]
              - id: b
                command: ["sh", "-c", "exec sleep 600"]
                \(dependsOn)
            """
        }
        try Self.write(config("depends_on: { a: { condition: started } }"), to: file)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("both running") { runningPIDs($0).count == 2 })

        try Self.write(config("depends_on: { a: { condition: healthy, restart: true } }"), to: file)
        let reply = try await agent.request("/-/reload", method: .POST)
        #expect(reply.status == 200, "\(reply.text)")
        try Self.write(config(""), to: file)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        #expect(runningPIDs(try await agent.processes()) == before)
        #expect(try await agent.metric(#"procmgr_restarts_total{process="b",reason="config"}"#) == nil)
    }
}

/// A start waiting for its dependencies is an ordinary `starting` process to the rest of the
/// agent: a config change lets it go with the new config (no error), and a stop ends it at once.
@Suite(.timeLimit(.minutes(2)))
struct WaitingStartTests {
    @Test("a waiting start takes a changed config without an error and stops at once when asked")
    func waitingStartChangesAndStops() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        func config(mode: String) -> String {
            """
            agent:
              state_dir: \(directory)/state
            processes:
              - id: migrate
                command: ["sh", "-c", "exec sleep 600"]
                restart: on-failure
              - id: app
                command: ["sh", "-c", "exec sleep 600"]
                env: { MODE: \(mode) }
                depends_on: { migrate: { condition: completed_successfully } }
            """
        }
        try config(mode: "one").write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        try await agent.waitForProcesses("app waiting for migrate") { processes in
            runningPIDs(processes)["migrate"] != nil && (processes["app"]?["waiting_for"] as? [Any])?.count == 1
        }

        try config(mode: "two").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        try await agent.waitForLogLine("stopped waiting for dependencies: the config changed")
        let afterChange = try await agent.waitForProcesses("app waiting again") { ($0["app"]?["waiting_for"] as? [Any])?.count == 1 }
        #expect(afterChange["app"]?["state"] as? String == "starting")
        #expect(afterChange["app"]?["last_error"] is NSNull)
        #expect(try await agent.metric(#"procmgr_errors_total{process="app",phase="sync"}"#) == nil)

        #expect(try await agent.request("/api/v1/processes/app/stop", method: .POST).status == 200)
        let stopped = try await agent.waitForProcesses("app stopped", timeout: .seconds(5)) { $0["app"]?["state"] as? String == "finished" }
        #expect((stopped["app"]?["waiting_for"] as? [Any])?.isEmpty == true)
        #expect(try await agent.metric(#"procmgr_dependency_waiting_seconds{process="app",dependency="migrate"}"#) == nil)
        #expect(try await agent.metric(#"procmgr_errors_total{process="app",phase="sync"}"#) == nil)
    }
}
