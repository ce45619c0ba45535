import ProcmgrEngine
import ProcmgrTestKit
import Testing

@Suite("Lifecycle", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("a created process is synced with .create and becomes running")
    func createReachesRunning() async throws {
        try await Harness.with { h in
            h.manager.update("a", config: TestConfig(version: 1), type: .create)
            await h.waitFor("a", .running)
            #expect(h.syncer.events == [.sync("a", version: 1, .create)])
            let status = try #require(h.manager.status(of: "a"))
            #expect(status.state == .running)
            #expect(status.healthy)
            #expect(status.startedAt == 1_700_000_000)
            #expect(h.sample("procmgr_state_transitions_total{process=\"a\",state=\"running\"}") == 1)
            #expect(h.sample("procmgr_processes{state=\"running\"}") == 1)
            #expect(h.sample("procmgr_processes{state=\"starting\"}") == 0)
        }
    }

    @Test("100 processes created concurrently from many tasks all reach running")
    func concurrentCreates() async throws {
        try await Harness.with { h in
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<10 {
                    group.addTask {
                        for index in 0..<10 { h.manager.update("p\(task * 10 + index)", config: TestConfig(), type: .create) }
                    }
                }
            }
            for index in 0..<100 { await h.waitFor("p\(index)", .running) }
            #expect(h.manager.health().byState[.running] == 100)
            #expect(h.sample("procmgr_processes{state=\"running\"}") == 100)
        }
    }

    @Test("1,000 rapid updates end on the last config with fewer syncs than updates")
    func rapidUpdatesLatestWins() async throws {
        try await Harness.with { h in
            h.manager.update("a", config: TestConfig(version: 0), type: .create)
            await h.waitFor("a", .running)
            await withTaskGroup(of: Void.self) { group in
                for half in 0..<2 {
                    group.addTask {
                        for version in stride(from: 1 + half, through: 999, by: 2) {
                            h.manager.update("a", config: TestConfig(version: version))
                        }
                    }
                }
            }
            h.manager.update("a", config: TestConfig(version: 1_000))
            await h.waitForEvent("the last version synced") { $0 == .sync("a", version: 1_000, .update) }
            let syncs = h.syncer.events.filter { if case .sync = $0 { true } else { false } }
            #expect(syncs.count < 1_001)
            #expect(h.manager.config(of: "a")?.version == 1_000)
            #expect(syncs.last == .sync("a", version: 1_000, .update))
        }
    }

    @Test("an update before the first sync still syncs as .create")
    func updateBeforeFirstSyncIsCreate() async throws {
        try await Harness.with { h in
            h.syncer.scriptSync("a", .fail("boom"))
            h.manager.update("a", config: TestConfig(version: 1), type: .create)
            await h.waitForStatus("a") { $0.consecutiveFailures == 1 }
            h.manager.update("a", config: TestConfig(version: 2))
            await h.waitFor("a", .running)
            #expect(h.syncer.events == [.sync("a", version: 1, .create), .sync("a", version: 2, .create)])
        }
    }

    @Test("requestSync resyncs a running process with .sync")
    func requestSync() async throws {
        try await Harness.with { h in
            h.manager.update("a", config: TestConfig(version: 3), type: .create)
            await h.waitFor("a", .running)
            h.manager.requestSync("a")
            await h.waitForEvent("a resync") { $0 == .sync("a", version: 3, .sync) }
        }
    }

    @Test("a terminal sync result terminates and finishes the worker")
    func terminalResult() async throws {
        try await Harness.with { h in
            h.syncer.scriptSync("a", .terminal("exited 0, restart never"))
            h.manager.update("a", config: TestConfig(terminationGracePeriod: .seconds(7)), type: .create)
            await h.waitFor("a", .finished)
            #expect(h.syncer.events == [
                .sync("a", version: 1, .create),
                .terminating("a", TerminationContext(gracePeriod: .seconds(7), remaining: .seconds(7))),
                .terminated("a"),
            ])
            let status = try #require(h.manager.status(of: "a"))
            #expect(status.terminationReason == "exited 0, restart never")
            #expect(h.manager.isTerminated("a"))
            #expect(h.manager.isFinished("a"))
        }
    }

    @Test("a terminating worker ignores config updates; its sync hook is never called again")
    func noSyncAfterTermination() async throws {
        try await Harness.with { h in
            h.syncer.scriptTerminating("a", .hang)
            h.manager.update("a", config: TestConfig(version: 1), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a")
            await h.waitForEvent("terminating") { if case .terminating = $0 { true } else { false } }
            h.manager.update("a", config: TestConfig(version: 2))
            h.manager.requestSync("a")
            h.manager.terminate("a", gracePeriod: .zero)
            await h.waitFor("a", .finished)
            #expect(!h.syncer.events.contains(.sync("a", version: 2, .update)))
            #expect(h.syncer.events.filter { $0 == .sync("a", version: 1, .create) }.count == 1)
        }
    }
}
