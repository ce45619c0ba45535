import Logging
@testable import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// What the engine offers service stacks: a sync let go for a newer update is moot, shutdown
/// levels, and the state observer.
@Suite("Engine support for service stacks", .timeLimit(.minutes(1)))
struct StackSupportTests {
    @Test("a sync that ends in CancellationError while an update is pending is moot: no error, the update runs at once")
    func supersededSyncIsMoot() {
        var machine = WorkerStateMachine(id: "a", config: TestConfig(version: 1), now: .zero)
        guard case .sync? = machine.beginWork(now: .zero) else { Issue.record("expected a sync"); return }
        let woken = machine.receiveUpdate(TestConfig(version: 2), type: .update)
        #expect(woken)
        let completion = machine.completeSync(.failure(CancellationError()), now: .seconds(1))
        #expect(completion.next == .immediately)
        #expect(completion.error == nil)
        #expect(machine.errorCount == 0 && machine.state == .starting)
        guard case .sync(let config, .create)? = machine.beginWork(now: .seconds(1)) else { Issue.record("expected the new config"); return }
        #expect((config as? TestConfig)?.version == 2)
        // Without a pending update a CancellationError is an error like any other.
        let failed = machine.completeSync(.failure(CancellationError()), now: .seconds(2))
        #expect(failed.error != nil && machine.errorCount == 1)
    }

    @Test("shutdown with levels: each level is asked to stop only once the previous one is terminated; unnamed ids stop first")
    func orderedShutdown() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let syncer = ScriptedSyncer()
        let manager = try ProcessManager(syncer: syncer, registry: MetricsRegistry(), logger: logger)
        let observed = EventRecorder<String>()
        manager.observeStates { if $0.to == .running { observed.record($0.process) } }
        let ids = ["top", "flat", "middle", "bottom"]
        let report: ShutdownReport = await withTaskGroup(of: ShutdownReport?.self) { group in
            group.addTask {
                await manager.run()
                return nil
            }
            for id in ids { manager.update(id, config: TestConfig(terminationGracePeriod: .seconds(30)), type: .create) }
            for id in ids { _ = await manager.waitUntil(id, reaches: .running) }
            let report = await manager.shutdown(gracePeriod: .seconds(10), deadline: .seconds(20), order: [["top"], ["middle"], ["bottom"]])
            group.cancelAll()
            return report
        }
        #expect(report.stragglers.isEmpty)
        #expect(Set(observed.events) == Set(ids))
        let terminating = syncer.events.compactMap { event -> String? in
            if case .terminating(let id, _) = event { return id }
            return nil
        }
        #expect(Set(terminating.prefix(2)) == ["top", "flat"])
        #expect(Array(terminating.dropFirst(2)) == ["middle", "bottom"])
        // Each level's grace period is at most what was left of the shutdown's.
        for event in syncer.events {
            if case .terminating(_, let context) = event { #expect(context.gracePeriod <= .seconds(10)) }
        }
    }
}
