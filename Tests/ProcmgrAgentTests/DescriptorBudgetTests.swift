import Foundation
import Glibc
@testable import ProcmgrAgent
import ProcmgrConfig
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

@Suite("Descriptor budget: a config that cannot fit the open-file limit is refused with the arithmetic")
struct DescriptorBudgetTests {
    static func specs(_ yaml: String) throws -> [ProcessSpec] {
        try ConfigLoader.parse(data: Data(yaml.utf8), format: .yaml).processes
    }

    static func sleepers(_ count: Int, prefix: String = "p") -> String {
        "processes:\n" + (0..<count).map { "  - { id: \(prefix)\($0), command: [sleep, \"1000\"] }\n" }.joined()
    }

    @Test("one output pipe per program (two FIFOs when adoptable); heartbeats, log files and OOM watches one each; replicas counted")
    func arithmetic() throws {
        let specs = try Self.specs("""
        processes:
          - { id: plain, command: [sleep, "1"], replicas: 3, limits: { memory: 64MiB } }
          - { id: beating, command: [sleep, "1"], heartbeat: { interval: 1s, timeout: 1s } }
          - { id: logged, command: [sleep, "1"], log_file: { path: /tmp/procmgr-budget-test.log } }
        """)
        let budget = DescriptorBudget(specs: specs, cgroups: true)
        #expect(budget.programs == 5 && budget.heartbeats == 1 && budget.logFiles == 1 && budget.cgroupWatches == 3, "OOM watches only where limits.memory is set")
        #expect(budget.supervision == 256 + 5 * 1 + 1 + 1 + 3 + 128)
        #expect(budget.needed == budget.supervision + 16)
        #expect(DescriptorBudget(specs: specs, cgroups: false).cgroupWatches == 0)
        #expect(DescriptorBudget(specs: specs, cgroups: false, adoptableOutput: true).supervision == 256 + 5 * 2 + 1 + 1 + 128)
    }

    @Test("10,000 programs fit 20,000 descriptors, 20,000 do not; the message says what was counted and what to raise")
    func twentyThousandAtTwentyThousand() throws {
        #expect(DescriptorBudget(specs: try Self.specs(Self.sleepers(10_000)), cgroups: false).problem(limit: 20_000, attainable: 20_000) == nil,
                "10,000 fit where 6,650 ran before (three descriptors each)")
        let budget = DescriptorBudget(specs: try Self.specs(Self.sleepers(20_000)), cgroups: false)
        let problem = try #require(budget.problem(limit: 20_000, attainable: 20_000))
        #expect(problem.description == "processes: needs 21,025 open files (256 for the agent + 20,000 programs × 1 output pipe + 753 spare for probes, hooks and restarts + 16 API connections) but the agent's open-file limit is 20,000; raise it where the agent is started (`ulimit -n`, systemd `LimitNOFILE=`, or run it with CAP_SYS_RESOURCE, as root normally is, to reach fs.nr_open)")
        #expect(budget.problem(limit: 1_048_576, attainable: 1_048_576) == nil)
        #expect(budget.problem(limit: 20_000, attainable: 1_048_576)?.message.hasSuffix("the agent could not raise its limit to 1,048,576") == true)
    }

    /// `nobody`, who cannot raise a hard limit, for an agent that must live with the one it gets.
    static func nobody() throws -> ProcessIdentity { try ProcessIdentity.resolve(user: "nobody", group: nil) }

    /// A directory `nobody` may write its state into, with `config` as procmgr.yaml.
    static func directory(config: String) throws -> (directory: String, file: String) {
        let directory = try makeTemporaryDirectory()
        chmod(directory, 0o777)
        let file = directory + "/procmgr.yaml"
        try ("agent:\n  state_dir: \(directory)/state\n" + config).write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        return (directory, file)
    }

    @Test("procmgr run refuses at start, before anything runs; procmgr validate says the same")
    func refusedAtStart() async throws {
        let (directory, file) = try Self.directory(config: Self.sleepers(200))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = try Self.nobody()
        let limit = [ResourceLimit(.nofile, 500)]
        let expected = "needs 606 open files (256 for the agent + 200 programs × 1 output pipe + 134 spare for probes, hooks and restarts + 16 API connections) but the agent's open-file limit is 500"

        let runtime = AgentTestRuntime.shared
        for arguments in [["run", "--listen", "127.0.0.1:0", "--config", file], ["validate", "--config", file]] {
            var spec = SpawnSpec(arguments: [try procmgrPath()] + arguments, environment: ProcessInfo.processInfo.environment, captureOutput: true, killWithParent: true)
            spec.resourceLimits = limit
            spec.identity = identity
            let child = try await runtime.spawner.spawn(spec)
            let lines = LockedLines()
            let capture = try runtime.capture.attach(name: "procmgr", stdout: child.stdoutFD, stderr: child.stderrFD) { lines.append($0.text) }
            let status = await child.exit.wait(timeout: .seconds(60))
            _ = await capture.waitUntilFinished(timeout: .seconds(10))
            #expect(status != nil && status != .exited(code: 0), "\(arguments[0]): \(String(describing: status)); \(lines.all)")
            #expect(lines.all.contains { $0.contains(expected) }, "\(arguments[0]) output: \(lines.all)")
        }
    }

    @Test("a reload that cannot fit is rejected like an invalid one; the running processes are untouched")
    func reloadRejected() async throws {
        let (directory, file) = try Self.directory(config: Self.sleepers(10))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await AgentProcess.start(["--config", file], resourceLimits: [ResourceLimit(.nofile, 700)], identity: try Self.nobody())
        defer { Task { await agent.kill() } }
        let before = try await agent.waitForProcesses("10 running") { list in
            list.count == 10 && list.values.allSatisfy { ($0["state"] as? String) == "running" && $0["pid"] is Int }
        }
        try ("agent:\n  state_dir: \(directory)/state\n" + Self.sleepers(400)).write(toFile: file, atomically: true, encoding: .utf8)
        let reply = try await agent.request("/-/reload", method: .POST)
        #expect(reply.status != 200, "\(reply.status) \(reply.text)")
        #expect(reply.text.contains("needs 812 open files") && reply.text.contains("open-file limit is 700"), "\(reply.text)")
        let after = try await agent.processes()
        #expect(after.count == 10)
        for (id, process) in before {
            #expect((after[id]?["pid"] as? Int) == (process["pid"] as? Int), "\(id) was restarted")
        }
        agent.signal(SIGTERM)
        _ = try await agent.waitForExit()
    }
}
