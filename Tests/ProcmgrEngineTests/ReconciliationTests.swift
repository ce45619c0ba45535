import Logging
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrTestKit
import Testing

@Suite("Reconciliation and shutdown", .timeLimit(.minutes(2)))
struct ReconciliationTests {
    @Test("syncKnownProcesses terminates orphans, then purges them once finished")
    func orphansTerminatedAndPurged() async throws {
        try await Harness.with { h in
            for id in ["a", "b", "c"] { h.manager.update(id, config: TestConfig(), type: .create) }
            for id in ["a", "b", "c"] { await h.waitFor(id, .running) }

            let first = h.manager.syncKnownProcesses(["a"])
            #expect(Set(first.keys) == ["a", "b", "c"])
            #expect(first["b"]?.terminationReason == "orphan")
            await h.waitFor("b", .finished)
            await h.waitFor("c", .finished)
            #expect(!h.seriesLines(of: "b").isEmpty)

            let second = h.manager.syncKnownProcesses(["a"])
            #expect(Set(second.keys) == ["a"])
            #expect(second["a"]?.state == .running)
            #expect(h.manager.status(of: "b") == nil)
            #expect(h.seriesLines(of: "b").isEmpty)
            #expect(h.seriesLines(of: "c").isEmpty)
            #expect(h.sample("procmgr_processes{state=\"finished\"}") == 0)
            #expect(h.sample("procmgr_processes{state=\"running\"}") == 1)
        }
    }

    @Test("a purged id can be created again as a new worker")
    func recreateAfterPurge() async throws {
        try await Harness.with { h in
            h.manager.update("a", config: TestConfig(version: 1), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a")
            await h.waitFor("a", .finished)
            h.manager.update("a", config: TestConfig(version: 2))
            #expect(h.manager.status(of: "a")?.state == .finished, "a finished worker ignores plain updates")
            _ = h.manager.syncKnownProcesses([String]())
            #expect(h.manager.status(of: "a") == nil)
            h.manager.update("a", config: TestConfig(version: 3), type: .create)
            await h.waitFor("a", .running)
            #expect(h.syncer.events.last == .sync("a", version: 3, .create))
            #expect(h.sample("procmgr_state_transitions_total{process=\"a\",state=\"running\"}") == 1)
        }
    }

    @Test("a create for a terminating id is applied as a new worker once the old one finished")
    func recreateWhileTerminating() async throws {
        try await Harness.with { h in
            h.syncer.scriptTerminating("a", .hang)
            h.manager.update("a", config: TestConfig(version: 1), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a")
            await h.waitForEvent("terminating") { if case .terminating = $0 { true } else { false } }
            h.manager.update("a", config: TestConfig(version: 2), type: .create)
            h.manager.terminate("a", gracePeriod: .zero)
            await h.waitForEvent("the new worker's create") { $0 == .sync("a", version: 2, .create) }
            await h.waitFor("a", .running)
            #expect(h.manager.status(of: "a")?.terminatingAt == nil)
        }
    }

    @Test("finished workers are purged after the retention period without a reconcile")
    func retentionPurge() async throws {
        try await Harness.with(configure: { $0.finishedRetention = .seconds(120) }) { h in
            h.manager.update("a", config: TestConfig(), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a")
            await h.waitFor("a", .finished)
            await h.waitForStatus("a") { $0.nextSyncAt == 1_700_000_000 + 120 }
            h.clock.advance(by: .seconds(119))
            #expect(h.manager.status(of: "a") != nil)
            h.clock.advance(by: .seconds(1))
            let purged = (try? await eventually("a is purged", timeout: .seconds(30)) { h.manager.status(of: "a") == nil }) != nil
            #expect(purged)
            #expect(h.seriesLines(of: "a").isEmpty)
        }
    }

    @Test("shutdown terminates everything in parallel and reports a hanging one as straggler")
    func shutdownReportsStragglers() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let syncer = ScriptedSyncer()
        let manager = try ProcessManager(syncer: syncer, registry: MetricsRegistry(), logger: logger)
        let ids = (0..<20).map { "p\($0)" }
        syncer.scriptTerminating("p7", .hang)
        let report: ShutdownReport = await withTaskGroup(of: ShutdownReport?.self) { group in
            group.addTask {
                await manager.run()
                return nil
            }
            for id in ids { manager.update(id, config: TestConfig(terminationGracePeriod: .seconds(60)), type: .create) }
            for id in ids { _ = await manager.waitUntil(id, reaches: .running) }
            let report = await manager.shutdown(deadline: .milliseconds(300))
            // The straggler hangs until cancelled; cancelling run() cancels its hook.
            group.cancelAll()
            return report
        }
        #expect(report.stragglers == ["p7"])
        #expect(report.terminated.count == 19)
    }

    @Test("after shutdown with nothing hanging, run() returns by itself and updates are refused")
    func runReturnsAfterShutdown() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let syncer = ScriptedSyncer()
        let manager = try ProcessManager(syncer: syncer, registry: MetricsRegistry(), logger: logger)
        async let running: Void = manager.run()
        for index in 0..<5 { manager.update("p\(index)", config: TestConfig(), type: .create) }
        for index in 0..<5 { _ = await manager.waitUntil("p\(index)", reaches: .running) }
        let report = await manager.shutdown(deadline: .seconds(20))
        #expect(report.stragglers.isEmpty)
        #expect(report.terminated.count == 5)
        await running
        manager.update("late", config: TestConfig(), type: .create)
        #expect(manager.status(of: "late") == nil)
    }

    @Test("churn of 10,000 processes leaves zero per-process series and an empty worker table")
    func churnLeavesNothing() async throws {
        try await Harness.with { h in
            let ids = (0..<10_000).map { "churn-\($0)" }
            for id in ids { h.manager.update(id, config: TestConfig(), type: .create) }
            for id in ids { await h.waitFor(id, .running) }
            _ = h.manager.syncKnownProcesses([String]())
            for id in ids { await h.waitFor(id, .finished) }
            let remaining = h.manager.syncKnownProcesses([String]())
            #expect(remaining.isEmpty)
            #expect(h.manager.workerCount == 0)
            let perProcess = h.registry.exposition().split(separator: "\n").filter { $0.contains("process=\"") }
            #expect(perProcess.isEmpty)
            for state in ProcessState.allCases {
                #expect(h.sample("procmgr_processes{state=\"\(state)\"}") == 0)
            }
            #expect(h.sample("procmgr_work_queue_depth") == 0)
        }
    }
}
