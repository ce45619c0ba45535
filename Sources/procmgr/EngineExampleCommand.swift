import ArgumentParser
import Logging
import ProcmgrEngine
import ProcmgrMetrics

/// Runs the lifecycle engine over simulated in-process workers and prints what happened: states,
/// restarts after injected failures, a shrinking grace period, an orphan reconciled away, and the
/// resulting Prometheus exposition.
struct EngineExampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Run the lifecycle engine over simulated workers and print its status and metrics.")

    @Option(help: "Number of simulated workers.")
    var workers: Int = 6

    @Flag(help: "Print the full metrics exposition at the end.")
    var metrics = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let registry = MetricsRegistry()
        var configuration = EngineConfiguration()
        configuration.resyncInterval = .milliseconds(200)
        configuration.errorBackoff = Backoff(initial: .milliseconds(50), maximum: .seconds(1))
        let syncer = SimulatedSyncer()
        let manager = try ProcessManager(syncer: syncer, configuration: configuration, registry: registry)
        let ids = (1...max(workers, 3)).map { "worker-\($0)" }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await manager.run() }
            print("creating \(ids.count) workers (worker-2 fails its first two starts)")
            for id in ids { manager.update(id, config: SimulatedConfig(id: id), type: .create) }
            for id in ids { _ = await manager.waitUntil(id, reaches: .running) }
            printStatuses(manager.statuses(), title: "all running")

            print("\nterminating worker-1 with a 5 s grace, then shortening it to 100 ms")
            manager.terminate("worker-1", gracePeriod: .seconds(5))
            manager.terminate("worker-1", gracePeriod: .milliseconds(100))
            _ = await manager.waitUntil("worker-1", reaches: .finished)

            print("reconciling against a desired set without worker-3: it is terminated as an orphan")
            let desired = ids.filter { $0 != "worker-3" && $0 != "worker-1" }
            _ = manager.syncKnownProcesses(desired)
            _ = await manager.waitUntil("worker-3", reaches: .finished)
            _ = manager.syncKnownProcesses(desired)
            printStatuses(manager.statuses(), title: "after termination and purge")

            let report = await manager.shutdown(deadline: .seconds(10))
            print("\nshutdown: \(report.terminated.count) terminated, stragglers: \(report.stragglers)")
            group.cancelAll()
        }
        if metrics {
            print("\n" + registry.exposition())
        } else {
            let lines = registry.exposition().split(separator: "\n")
            print("\nmetrics (excerpt; pass --metrics for all):")
            for line in lines where line.hasPrefix("procmgr_processes") || line.hasPrefix("procmgr_state_transitions_total{process=\"worker-2\"") {
                print("  " + line)
            }
        }
    }

    private func printStatuses(_ statuses: [ProcessStatus], title: String) {
        print("\n\(title):")
        print("  " + ["ID", "STATE", "HEALTHY", "ERRORS", "LAST ERROR"].map { $0.padding(12) }.joined())
        for status in statuses {
            let row = [status.id, status.state.description, status.healthy ? "yes" : "no", "\(status.errorCount)", status.lastError ?? "-"]
            print("  " + row.map { $0.padding(12) }.joined())
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
