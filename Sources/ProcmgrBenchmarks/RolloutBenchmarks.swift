import Foundation
import Glibc
import ProcmgrSupport

/// `procmgr-bench rollout`: a rolling restart of three replicas of `procmgr demo-worker` behind
/// one hostname, through a real `procmgr run` and its HTTP API, while another thread asks
/// `GET /api/v1/routes?host=…` every 10 ms. Prints the fewest ready endpoints any answer listed
/// (the goal: never below 2 with `max_unavailable: 1`) and how long each rollout took, from the
/// reload to every replica running the new config and listed again.
enum RolloutBenchmarks {
    static let host = "web.bench"
    static let runs = 5

    static func run() {
        guard let procmgr = ChaosCommand.siblingProcmgr(), access(procmgr, X_OK) == 0 else {
            print("rollout: no procmgr binary next to procmgr-bench; build it (swift build -c release --product procmgr)")
            return
        }
        let directory = "/tmp/procmgr-bench-rollout-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/procmgr.yaml"
        write(config(directory: directory, procmgr: procmgr, generation: 0), to: configPath)
        let agent: ChaosAgent
        do {
            agent = try ChaosAgent.start(procmgr: procmgr, config: configPath, logFile: directory + "/agent.log",
                                         marker: ("PROCMGR_BENCH_ROLLOUT", "\(getpid())"))
        } catch {
            print("rollout: \(error)")
            return
        }
        defer {
            agent.signal(SIGTERM)
            if !agent.waitForExit(timeout: .seconds(30)) { agent.signal(SIGKILL) }
        }
        guard waitUntil(timeout: .seconds(60), { endpoints(port: agent.port)?.count == 3 }) else {
            print("rollout: three ready endpoints never appeared; see \(directory)/agent.log")
            return
        }
        var fewest = Int.max
        var samples = 0
        var durations: [Duration] = []
        for generation in 1...runs {
            let before = replicaPIDs(port: agent.port)
            let poll = RoutePoller(port: agent.port)
            poll.start()
            write(config(directory: directory, procmgr: procmgr, generation: generation), to: configPath)
            let started = ContinuousClock.now
            _ = try? ChaosHTTP.request(port: agent.port, method: "POST", path: "/-/reload")
            let done = waitUntil(timeout: .seconds(60)) {
                let pids = replicaPIDs(port: agent.port)
                guard pids.count == 3, pids.allSatisfy({ before[$0.key] != $0.value }) else { return false }
                return endpoints(port: agent.port)?.count == 3
            }
            let elapsed = started.duration(to: .now)
            let observed = poll.stop()
            guard done else {
                print("rollout: run \(generation) did not complete within 60 s; see \(directory)/agent.log")
                return
            }
            durations.append(elapsed)
            fewest = min(fewest, observed.fewest)
            samples += observed.samples
            print("  run \(generation): rollout \(milliseconds(elapsed)) ms, fewest ready endpoints \(observed.fewest) over \(observed.samples) polls")
        }
        let sorted = durations.sorted()
        print("rollout of 3 replicas (max_unavailable 1, readiness = health probe every 100 ms) under a 10 ms routes poll, \(runs) runs:")
        print("  fewest ready endpoints seen: \(fewest) (goal ≥ 2) over \(samples) polls")
        print("  rollout time: median \(milliseconds(sorted[sorted.count / 2])) ms, max \(milliseconds(sorted[sorted.count - 1])) ms")
    }

    static func config(directory: String, procmgr: String, generation: Int) -> String {
        """
        agent:
          state_dir: \(directory)/state
          shutdown_grace_period: 10s
        processes:
          - id: web
            command: ["\(procmgr)", "demo-worker"]
            env: { GENERATION: "\(generation)" }
            port: auto
            hostnames: [\(host)]
            replicas: 3
            grace_period: 5s
            health:
              http: { path: /api/status, interval: 100ms, timeout: 1s, failure_threshold: 3 }

        """
    }

    /// The endpoints `/api/v1/routes` lists now, or `nil` when the request failed.
    static func endpoints(port: Int) -> [String]? {
        guard let reply = try? ChaosHTTP.request(port: port, path: "/api/v1/routes?host=\(host)", timeout: 2), reply.status == 200,
              let body = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
        else { return nil }
        return body["endpoints"] as? [String]
    }

    /// Pid of each running replica.
    static func replicaPIDs(port: Int) -> [String: Int] {
        guard let reply = try? ChaosHTTP.request(port: port, path: "/api/v1/processes", timeout: 2), reply.status == 200,
              let list = try? JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [[String: Any]]
        else { return [:] }
        var pids: [String: Int] = [:]
        for process in list where process["replica_of"] as? String == "web" && process["state"] as? String == "running" {
            if let id = process["id"] as? String, let pid = process["pid"] as? Int { pids[id] = pid }
        }
        return pids
    }

    private static func waitUntil(timeout: Duration, _ condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return false
    }

    private static func write(_ text: String, to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// Asks for the routes every 10 ms on its own thread and keeps the fewest endpoints seen.
private final class RoutePoller: Sendable {
    private let port: Int
    private let state = LockedState<(running: Bool, fewest: Int, samples: Int)>((true, Int.max, 0))
    private let finished = DispatchSemaphore(value: 0)

    init(port: Int) { self.port = port }

    func start() {
        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                if let endpoints = RolloutBenchmarks.endpoints(port: port) {
                    state.withLock { state in
                        state.fewest = min(state.fewest, endpoints.count)
                        state.samples += 1
                    }
                }
                usleep(10_000)
            }
            finished.signal()
        }
        thread.start()
    }

    func stop() -> (fewest: Int, samples: Int) {
        state.withLock { $0.running = false }
        finished.wait()
        return state.withLock { ($0.fewest, $0.samples) }
    }
}
