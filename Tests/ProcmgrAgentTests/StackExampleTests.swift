import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// `examples/stack.yaml` run as a newcomer would, with Debian's real `redis-server` (which says
/// READY=1 through sd_notify): start order from the agent's own timestamps, a rolling restart
/// under a 10 ms routes poll that never drops below two ready endpoints, and a stop in reverse
/// dependency order.
@Suite(.serialized)
struct StackExampleTests {
    static let host = "workers.stack.test"
    static let workers = ["workers.0", "workers.1", "workers.2"]

    @Test(.timeLimit(.minutes(4)))
    func exampleStackStartsInOrderRollsAndStopsInReverse() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The example as written, but for its port range: agents of other tests run at once,
        // and a port both allocators found free can only be bound by one demo-worker.
        let example = try String(contentsOfFile: Self.examplePath(), encoding: .utf8)
            .replacingOccurrences(of: #"ports: { range: "30000-31000" }"#, with: #"ports: { range: "32500-32599" }"#)
        #expect(example.contains("32500-32599"))
        let config = directory + "/stack.yaml"
        try example.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", config])
        do {
            // Up: redis ready, the seed job done, three ready replicas.
            let up = try await agent.waitForProcesses("the stack up", timeout: .seconds(60)) { processes in
                Self.workers.allSatisfy { processes[$0]?["state"] as? String == "running" && processes[$0]?["ready"] as? Bool == true }
            }
            let redisStarted = try #require(up["redis"]?["started_at"] as? Double)
            let seed = try #require(up["seed"])
            let seedStarted = try #require(seed["started_at"] as? Double)
            #expect(seed["last_exit"] as? String == "exited with code 0", "seed: \(seed)")
            #expect(redisStarted < seedStarted, "the seed job starts only once redis is ready")
            for id in Self.workers {
                let started = try #require(up[id]?["started_at"] as? Double)
                #expect(seedStarted < started, "\(id) starts only after the seed job completed")
                #expect(up[id]?["waiting_for"] as? [Any] != nil)
            }
            #expect(up["redis"]?["ready"] as? Bool == true)
            let greeting = try await runCommand(["redis-cli", "-s", directory + "/redis.sock", "get", "greeting"])
            #expect(greeting.contains("hello from the seed job"), "redis holds what the seed job wrote: \(greeting)")

            // A rolling restart: change every replica's environment and reload.
            let before = runningPIDs(up).filter { Self.workers.contains($0.key) }
            try example.replacingOccurrences(of: "GREETING: \"hello\"", with: "GREETING: \"hola\"")
                .write(toFile: config, atomically: true, encoding: .utf8)
            agent.signal(SIGHUP)
            var fewest = Int.max
            var polls = 0
            try await eventually("every replica restarted and ready; fewest ready endpoints \(fewest)", timeout: .seconds(60), every: .milliseconds(10)) {
                let reply = try await agent.request("/api/v1/routes?host=\(Self.host)")
                let endpoints = ((try? reply.json() as? [String: Any])?["endpoints"] as? [String]) ?? []
                fewest = min(fewest, endpoints.count)
                polls += 1
                guard polls % 10 == 0 else { return false }
                let now = try await agent.processes()
                return Self.workers.allSatisfy { id in
                    guard let pid = now[id]?["pid"] as? Int, now[id]?["ready"] as? Bool == true else { return false }
                    return pid != before[id]
                }
            }
            #expect(fewest >= 2, "a hostname keeps at least two ready endpoints during the rollout (saw \(fewest))")
            print("rollout: \(polls) polls, fewest ready endpoints \(fewest), before \(before), after \(runningPIDs(try await agent.processes()))")

            // Stop: dependents before what they depend on.
            agent.signal(SIGTERM)
            let status = try await agent.waitForExit(timeout: .seconds(60))
            #expect(status == .exited(code: 0))
            let stopped = agent.output.enumerated().filter { $0.element.hasSuffix(" stopped") || $0.element.contains("] stopped") }
            func position(_ id: String) -> Int? { stopped.first { $0.element.contains("process=\(id) ") }?.offset }
            let redisStopped = try #require(position("redis"), "redis stop logged: \(agent.output.suffix(40))")
            for id in Self.workers {
                let workerStopped = try #require(position(id), "\(id) stop logged")
                #expect(workerStopped < redisStopped, "\(id) stops before redis")
            }
        } catch {
            await agent.kill()
            throw error
        }
    }

    static func examplePath() throws -> String {
        var directory = URL(fileURLWithPath: #filePath)
        while directory.path != "/" {
            directory.deleteLastPathComponent()
            let candidate = directory.appendingPathComponent("examples/stack.yaml").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        throw AgentTestFailure("examples/stack.yaml not found above \(#filePath)")
    }
}
