import Foundation
import ProcmgrAgent
import ProcmgrTestKit
import Testing

/// The execution context end to end through an agent: a cgroup per process (a stop reaches
/// every descendant, limits hold, the OOM killer's kills are seen), another user, hooks. Real
/// programs; root only (the CI machine's user), like the cgroup suites of the runtime.
@Suite("Execution context through the agent", .serialized, .enabled(if: geteuid() == 0), .timeLimit(.minutes(3)))
struct ExecutionContextAgentTests {
    @Test("a program past limits.memory is OOM-killed: counted, published, shown in the API, restarted with reason oom")
    func oomKill() async throws {
        try await InProcessAgent.with(processes: """
          - id: hog
            command: ["python3", "-c", "import time; s = 'x' * (256 << 20); time.sleep(60)"]
            limits: { memory: 32MiB }
            backoff: { initial: 100ms, max: 1s }
        """) { running in
            try await running.events.first("the OOM event") { $0.type == .oom && $0.process == "hog" }
            let restart = try await running.events.first("the restart") { $0.type == .restart && $0.process == "hog" }
            #expect(restart.reason == "oom")
            let exit = try #require(running.events.of("hog").first { $0.type == .exit })
            #expect(exit.exit == "signal 9 (KILL)")
            let metrics = Self.metrics(running.agent)
            #expect(Self.value(metrics, #"procmgr_oom_kills_total{process="hog"}"#) ?? 0 >= 1, "\(metrics)")
            #expect(Self.value(metrics, #"procmgr_restarts_total{process="hog",reason="oom"}"#) ?? 0 >= 1)
            #expect(Self.value(metrics, "procmgr_cgroups_enabled") == 1)
            let view = try #require(await running.agent.api.process(id: "hog"))
            #expect(view.lastExit?.contains("OOM killer") == true, "\(view.lastExit ?? "-")")
        }
    }

    @Test("a descendant killed by the OOM killer is counted by the cgroup's watch, again after a restart of the program")
    func descendantOOMAcrossRestarts() async throws {
        try await InProcessAgent.with(processes: """
          - id: parent
            command: ["sh", "-c", "python3 -c \\"s = 'x' * (256 << 20)\\"; exec sleep 1000"]
            limits: { memory: 32MiB }
        """) { running in
            // The program (sh, then sleep) survives: only the watch can see the kill.
            try await running.events.first("the first OOM kill") { $0.type == .oom && $0.process == "parent" }
            try await running.agent.api.restart(id: "parent")
            try await eventually("a second OOM kill, in the restarted program", timeout: .seconds(20)) {
                running.events.of("parent").filter { $0.type == .oom }.count == 2
            }
            #expect(Self.value(Self.metrics(running.agent), #"procmgr_oom_kills_total{process="parent"}"#) == 2)
            #expect(!running.events.of("parent").contains { $0.type == .restart && $0.reason == "oom" })
        }
    }

    @Test("a stop reaches a setsid() grandchild that ignores SIGTERM and a double-forked daemon: none is left when the stop ends")
    func stopReachesEscapees() async throws {
        let marker = "1000.\(UInt32.random(in: 100_000...999_999))"
        try await InProcessAgent.with(processes: """
          - id: escaper
            command: ["sh", "-c", "setsid sh -c 'trap \\"\\" TERM; exec sleep \(marker)1' & (setsid sleep \(marker)2 &) ; exec sleep \(marker)3"]
            grace_period: 300ms
        """) { running in
            // Each a `sleep` already: a shell that has not exec'd yet has not set its TERM trap.
            try await eventually("three sleeps run", timeout: .seconds(20)) { Self.live(marker, command: "sleep").count == 3 }
            let started = ContinuousClock.now
            try await running.agent.api.stop(id: "escaper")
            try await running.events.first("escaper finished") { $0.type == .state && $0.process == "escaper" && $0.to == "finished" }
            let stopped = started.duration(to: .now)
            #expect(Self.live(marker).isEmpty, "left behind: \(Self.live(marker))")
            // The TERM-ignoring grandchild waited for the grace period, and no longer than needed.
            #expect(stopped >= .milliseconds(300) && stopped < .seconds(5), "\(stopped)")
        }
    }

    @Test("limits.pids: 64 contains a fork loop, and a stop ends all of it")
    func forkLoopContained() async throws {
        try await InProcessAgent.with(processes: """
          - id: forker
            command: ["python3", "-c", "import os, time\\nwhile True:\\n  try:\\n    os.fork() or time.sleep(1000)\\n  except OSError:\\n    time.sleep(0.01)"]
            limits: { pids: 64 }
        """) { running in
            let pid = try await Self.pid(of: "forker", in: running)
            let pids = try #require(Self.v1Directory("pids", of: pid), "no pids cgroup for \(pid)")
            try await eventually("the loop reaches the limit", timeout: .seconds(20)) {
                Self.number(pids + "/pids.current") == 64
            }
            #expect(Self.number(pids + "/pids.max") == 64)
            try await running.agent.api.stop(id: "forker")
            try await running.events.first("forker finished") { $0.type == .state && $0.process == "forker" && $0.to == "finished" }
            #expect(Self.number(pids + "/pids.current") ?? 0 == 0)
        }
    }

    @Test("user: nobody runs the program as nobody with the login variables; limits.nofile is its rlimit")
    func runsAsAnotherUser() async throws {
        try await InProcessAgent.with(processes: """
          - id: unprivileged
            command: ["sleep", "1000"]
            user: nobody
            limits: { nofile: 4321 }
        """) { running in
            let pid = try await Self.pid(of: "unprivileged", in: running)
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(status)")
            try await eventually("sleep exec'd") { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"))?.hasSuffix("sleep") == true }
            let environment = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            #expect(environment.contains("USER=nobody") && environment.contains("LOGNAME=nobody"), "\(environment)")
            #expect(environment.contains { $0.hasPrefix("HOME=") && $0 != "HOME=/root" }, "\(environment)")
            let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
            #expect(limits.split(separator: "\n").contains { $0.hasPrefix("Max open files") && $0.contains("4321") }, "\(limits)")
        }
    }

    @Test("hooks: pre_start runs before the program and post_stop after its group is gone; a failing pre_start fails the start, counted")
    func hooks() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/hooks.log"
        try await InProcessAgent.with(processes: """
          - id: hooked
            command: ["sh", "-c", "echo program >> \(log); exec sleep 1000"]
            hooks: { pre_start: ["sh", "-c", "echo pre $PORT >> \(log)"], post_stop: ["sh", "-c", "echo post >> \(log)"], timeout: 5s }
            port: auto
          - id: refused
            command: ["sleep", "1000"]
            hooks: { pre_start: ["sh", "-c", "echo migration failed >&2; exit 3"] }
            backoff: { initial: 100ms, max: 1s }
        """) { running in
            _ = try await Self.pid(of: "hooked", in: running)
            // Running is not "has run its first command": stopped any sooner, sh may never echo.
            try await eventually("the program wrote its line") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("program") == true
            }
            try await running.agent.api.stop(id: "hooked")
            try await running.events.first("hooked finished") { $0.type == .state && $0.process == "hooked" && $0.to == "finished" }
            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.count == 3 && lines[0].hasPrefix("pre ") && lines[0] != "pre " && lines[1] == "program" && lines[2] == "post", "\(lines)")

            try await eventually("the refused start is counted", timeout: .seconds(20)) {
                Self.value(Self.metrics(running.agent), #"procmgr_errors_total{process="refused",phase="hook"}"#) ?? 0 >= 2
            }
            let view = try #require(await running.agent.api.process(id: "refused"))
            #expect(view.pid == nil)
            #expect(view.lastError?.contains("hooks.pre_start") == true, "\(view.lastError ?? "-")")
            let logs = await running.agent.api.logs(id: "refused", tail: 10) ?? []
            #expect(logs.contains { $0.text.contains("migration failed") }, "the hook's output is in the process's log lines")
        }
    }

    // MARK: Helpers

    static func metrics(_ agent: Agent) -> String {
        var buffer: [UInt8] = []
        agent.api.writeMetrics(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The value of the series that starts with `series` (name and labels exactly as exposed).
    static func value(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static func pid(of id: String, in running: InProcessAgent) async throws -> Int32 {
        try await eventually("\(id) runs", timeout: .seconds(20)) { await running.agent.api.process(id: id)?.pid != nil }
        return try #require(await running.agent.api.process(id: id)?.pid)
    }

    /// Live (not zombie) processes whose command line contains `marker` (and that run `command`, if given).
    static func live(_ marker: String, command name: String? = nil) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")),
                  String(decoding: command, as: UTF8.self).contains(marker),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return false }
            if let name, stat[stat.index(after: open)..<close] != name { return false }
            return !stat[close...].hasPrefix(") Z")
        }
    }

    /// The directory of `pid`'s cgroup in the v1 hierarchy of `controller`.
    static func v1Directory(_ controller: String, of pid: Int32) -> String? {
        guard let lines = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        for line in lines.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2).map(String.init)
            guard fields.count == 3, fields[1].split(separator: ",").contains(Substring(controller)) else { continue }
            return "/sys/fs/cgroup/\(controller)\(fields[2])"
        }
        return nil
    }

    static func number(_ path: String) -> Int? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
