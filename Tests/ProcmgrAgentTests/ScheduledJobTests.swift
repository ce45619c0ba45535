import Foundation
import Glibc
import NIOHTTP1
import ProcmgrTestKit
import Testing

/// Scheduled jobs through a real `procmgr run`: listed before their first run, run on their
/// schedule and counted, and gone with their config.
@Suite(.timeLimit(.minutes(3)))
struct ScheduledJobTests {
    static func config(stateDir: String, jobs: String) -> String {
        """
        agent:
          state_dir: \(stateDir)
          shutdown_grace_period: 5s
        processes:
          - id: steady
            command: ["sh", "-c", "exec sleep 600"]
        \(jobs)

        """
    }

    static let yearly = """
          - id: yearly
            command: ["sh", "-c", "exit 0"]
            restart: never
            schedule: "0 0 1 1 *"
            time_zone: Europe/Paris
        """

    @Test("a job is listed before its first run as finished with next_run_at; a reload that removes it removes it")
    func listedBeforeFirstRun() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try Self.config(stateDir: directory + "/state", jobs: Self.yearly).write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let processes = try await agent.waitForProcesses("steady running") { runningPIDs($0)["steady"] != nil }
        let job = try #require(processes["yearly"])
        #expect(job["state"] as? String == "finished")
        #expect(job["pid"] is NSNull)
        let next = try #require(job["next_run_at"] as? Double)
        // Midnight of 1 January in Paris is 23:00 UTC on 31 December (CET, UTC+1).
        let components = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date(timeIntervalSince1970: next))
        #expect(components.month == 12 && components.day == 31 && components.hour == 23 && components.minute == 0)
        #expect(processes["steady"]?["next_run_at"] is NSNull)
        #expect(try await agent.request("/api/v1/processes/yearly").status == 200)

        try Self.config(stateDir: directory + "/state", jobs: "").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try await agent.request("/-/reload", method: .POST).status == 200)
        #expect(try await agent.processes()["yearly"] == nil)
        #expect(try await agent.request("/api/v1/processes/yearly").status == 404)
    }

    /// The one test that waits for a real minute boundary (up to 60 s): the cron path end to end,
    /// with the run's result counted. The timing logic itself is tested on a manual clock
    /// (`JobDriverTests`).
    @Test("a * * * * * job runs at the next minute and its success is counted")
    func runsOnTheMinute() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        let job = """
              - id: tick
                command: ["sh", "-c", "echo tick; exit 0"]
                restart: never
                schedule: "* * * * *"
            """
        try Self.config(stateDir: directory + "/state", jobs: job).write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }
        let first = try await agent.waitForProcesses("tick listed") { $0["tick"] != nil }
        let scheduled = try #require(first["tick"]?["next_run_at"] as? Double)
        try await eventually("the run counted as a success; output: \(agent.output.suffix(10))", timeout: .seconds(75), every: .milliseconds(200)) {
            try await agent.metric(#"procmgr_job_runs_total{process="tick",result="success"}"#) == 1
        }
        let lastSuccess = try #require(try await agent.metric(#"procmgr_job_last_success_timestamp_seconds{process="tick"}"#))
        // The run is the one at `scheduled`, or — when the first listing came only after a fire
        // (a slow start on a loaded machine) — the one a minute before: either way on a minute.
        let fired = (lastSuccess / 60).rounded(.down) * 60
        #expect(fired == scheduled || fired == scheduled - 60, "ran at \(lastSuccess), listed next run \(scheduled)")
        #expect(lastSuccess - fired < 30, "a run long after its minute: \(lastSuccess)")
        let after = try #require(try await agent.processes()["tick"])
        #expect(after["state"] as? String == "finished")
        #expect(after["last_exit"] as? String == "exited with code 0")
        #expect(after["next_run_at"] as? Double == fired + 60)
    }
}
