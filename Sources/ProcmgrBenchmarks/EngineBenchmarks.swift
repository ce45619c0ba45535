import Logging
#if canImport(Glibc)
import Glibc
#endif
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrTestKit

enum ProcessInfoLite { static let verbose = getenv("BENCH_VERBOSE") != nil }

/// The engine's own cost with a syncer that does nothing.
enum EngineBenchmarks {
    static let processes = 10_000
    static let repetitions = 5

    static func makeManager() -> ProcessManager<NoopSyncer, ContinuousClock> {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        return try! ProcessManager(syncer: NoopSyncer(), registry: MetricsRegistry(), logger: logger)
    }

    static func lifecycle() async {
        var createTimes: [Double] = []
        var churnTimes: [Double] = []
        var residentPerWorker: Double = .nan
        let ids = (0..<processes).map { "worker-\($0)" }
        let clock = ContinuousClock()
        for _ in 0..<repetitions {
            let manager = makeManager()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await manager.run() }
                trimHeap()
                let residentBefore = residentBytes()
                let start = clock.now
                for id in ids { manager.update(id, config: TestConfig(), type: .create) }
                for id in ids { _ = await manager.waitUntil(id, reaches: .running) }
                let running = clock.now
                createTimes.append((running - start).benchmarkSeconds)
                // Only the first run measures memory: later runs reuse the heap the first one freed.
                if residentPerWorker.isNaN {
                    trimHeap()
                    residentPerWorker = Double(residentBytes() - residentBefore) / Double(processes)
                }

                let t1 = clock.now
                _ = manager.syncKnownProcesses([String]())
                let t2 = clock.now
                for id in ids { _ = await manager.waitUntil(id, reaches: .finished) }
                let t3 = clock.now
                _ = manager.syncKnownProcesses([String]())
                let t4 = clock.now
                if ProcessInfoLite.verbose { print("phases: running \(running - start) terminate-call \(t2 - t1) to-finished \(t3 - t2) purge-call \(t4 - t3)") }
                precondition(manager.workerCount == 0, "churn left workers behind")
                churnTimes.append((clock.now - start).benchmarkSeconds)
                _ = await manager.shutdown(deadline: .seconds(10))
                group.cancelAll()
            }
        }
        printTable(
            "Engine, \(processes) processes, no-op syncer (min/median/max of \(repetitions) runs)",
            header: ["figure", "procmgr", "goal"],
            rows: [
                ["create → all running (s)", Sample(values: createTimes).description, "≤ 0.25"],
                ["create → running → terminated → purged (s)", Sample(values: churnTimes).description, "≤ 0.5"],
                ["RSS growth per live worker (bytes; first run, heap trimmed)", format(residentPerWorker, decimals: 0), "≤ 4096"],
            ])
    }

    /// Cost of one `update` call while two tasks call it at once.
    static func updateContention() async {
        let manager = makeManager()
        let callsPerTask = 200_000
        var rows: [[String]] = []
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await manager.run() }
            for id in ["a", "b"] { manager.update(id, config: TestConfig(), type: .create) }
            for id in ["a", "b"] { _ = await manager.waitUntil(id, reaches: .running) }
            for (label, targets) in [("1 task, one process", ["a"]), ("2 tasks, same process", ["a", "a"]), ("2 tasks, own process each", ["a", "b"])] {
                let sample = await measure(repetitions: repetitions) {
                    await withTaskGroup(of: Void.self) { callers in
                        for target in targets {
                            callers.addTask {
                                for version in 0..<callsPerTask { manager.update(target, config: TestConfig(version: version)) }
                            }
                        }
                    }
                }
                rows.append([label, Sample(values: sample.values.map { $0 / Double(callsPerTask) * 1e9 }).description])
            }
            _ = await manager.shutdown(deadline: .seconds(10))
            group.cancelAll()
        }
        printTable(
            "Engine update() call: ns per call per task (\(callsPerTask) calls each, min/median/max)",
            header: ["callers", "procmgr"], rows: rows)
    }
}
