import Logging
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// A worker's hook calls run in its activation task; a cancelled activation must hand the worker
/// to a fresh one, or the calls after a cancelled sync would start out cancelled.
@Suite("Activations", .timeLimit(.minutes(1)))
struct ActivationTests {
    /// Sync hangs until cancelled; the terminating and terminated hooks note whether they began
    /// cancelled.
    struct CancellationProbe: ProcessSyncer {
        typealias Config = TestConfig
        let syncStarted = EventRecorder<ProcessID>()
        let cancelledAtStart = LockedState<[String: Bool]>([:])

        func syncProcess(_ id: ProcessID, config: TestConfig, updateType: UpdateType) async throws -> SyncOutcome {
            syncStarted.record(id)
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            throw CancellationError()
        }

        func syncTerminatingProcess(_ id: ProcessID, config: TestConfig, termination: TerminationContext) async throws {
            let cancelled = Task.isCancelled
            cancelledAtStart.withLock { $0["terminating"] = cancelled }
        }

        func syncTerminatedProcess(_ id: ProcessID, config: TestConfig) async throws {
            let cancelled = Task.isCancelled
            cancelledAtStart.withLock { $0["terminated"] = cancelled }
        }
    }

    /// A manager on the real clock, not yet running.
    static func manager<S: ProcessSyncer>(_ syncer: S) throws -> ProcessManager<S, ContinuousClock> {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try ProcessManager(syncer: syncer, registry: MetricsRegistry(), logger: logger)
    }

    @Test("the hooks after a sync cancelled by termination do not start cancelled")
    func hooksAfterCancelledSync() async throws {
        let syncer = CancellationProbe()
        let manager = try Self.manager(syncer)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await manager.run() }
            manager.update("a", config: TestConfig(), type: .create)
            #expect(await syncer.syncStarted.waitUntil { $0.contains("a") })
            manager.terminate("a", gracePeriod: .seconds(1))
            #expect(await manager.waitUntil("a", reaches: .finished) == .finished)
            group.cancelAll()
        }
        #expect(syncer.cancelledAtStart.withLock { $0 } == ["terminating": false, "terminated": false])
    }

    @Test("updates made before run() starts are synced once it runs")
    func updatesBeforeRun() async throws {
        let syncer = ScriptedSyncer()
        let manager = try Self.manager(syncer)
        for index in 0..<3 { manager.update("p\(index)", config: TestConfig(), type: .create) }
        #expect(syncer.events.isEmpty)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await manager.run() }
            for index in 0..<3 { #expect(await manager.waitUntil("p\(index)", reaches: .running) == .running) }
            group.cancelAll()
        }
    }
}
