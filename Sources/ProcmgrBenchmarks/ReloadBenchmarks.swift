import Foundation
import Logging
import ProcmgrAgent
import ServiceLifecycle

/// Config change → applied: an agent runs 100 `sleep` processes; one process's `env` is changed,
/// and the time until its new program runs (a new pid in the API) is measured, through the file
/// watcher (the "applied (file) ≤ 1 s") and through a direct reload (SIGHUP or
/// `POST /-/reload` do the same). The other 99 must keep their pids.
enum ReloadBenchmarks {
    static let processes = 100
    static let rounds = 15

    static func run() async {
        let directory = NSTemporaryDirectory() + "procmgr-bench-reload-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        write(file, directory: directory, version: 0)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        do {
            let agent = try await Agent(options: AgentOptions(origin: .file(path: file), listenHost: "127.0.0.1", listenPort: 0), logger: logger)
            let group = ServiceGroup(services: [agent], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let others = try await waitForPIDs(agent, count: processes) { _ in true }
                var viaFile: [Double] = []
                var viaReload: [Double] = []
                for round in 1...(2 * rounds) {
                    let before = try await pid(of: "p0", in: agent)
                    let start = ContinuousClock.now
                    write(file, directory: directory, version: round)
                    if round > rounds { await agent.controller.reload(trigger: .api) }
                    _ = try await waitForPIDs(agent, count: processes) { $0["p0"] != before }
                    let elapsed = (ContinuousClock.now - start).benchmarkSeconds * 1000
                    if round > rounds { viaReload.append(elapsed) } else { viaFile.append(elapsed) }
                }
                let after = try await waitForPIDs(agent, count: processes) { _ in true }
                let untouched = others.filter { $0.key != "p0" }.allSatisfy { after[$0.key] == $0.value }
                print("config change → changed process running again (ms, \(processes) processes, \(rounds) rounds; goal ≤ 1000 via file)")
                print("  file watcher: \(Sample(values: viaFile))    direct reload: \(Sample(values: viaReload))")
                print("  the other \(processes - 1) processes kept their pids: \(untouched)")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        } catch {
            print("reload benchmark failed: \(error)")
        }
    }

    private static func write(_ file: String, directory: String, version: Int) {
        var text = "agent:\n  state_dir: \(directory)/state\n  shutdown_grace_period: 2s\nprocesses:\n"
        for index in 0..<processes {
            text += "  - { id: p\(index), command: [\"sleep\", \"600\"], env: { VERSION: \"\(index == 0 ? version : 0)\" } }\n"
        }
        try? text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    private static func pid(of id: String, in agent: Agent) async throws -> Int32? {
        await agent.api.process(id: id)?.pid
    }

    /// Polls the API (1 ms) until every process runs and `condition` holds for the pids.
    private static func waitForPIDs(_ agent: Agent, count: Int, until condition: ([String: Int32]) -> Bool) async throws -> [String: Int32] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            let views = await agent.api.processes()
            let pids = Dictionary(uniqueKeysWithValues: views.compactMap { view in
                view.state == "running" ? view.pid.map { (view.id, $0) } : nil
            })
            if pids.count == count, condition(pids) { return pids }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchmarkFailure("processes did not reach the expected pids within 30 s")
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
