import ProcmgrEngine
import ProcmgrTestKit
import ProcmgrSupport
import Testing

@Suite("Termination", .timeLimit(.minutes(1)))
struct TerminationTests {
    @Test("grace 10 s then 5 s then 20 s: 5 s is used, and the in-flight call is redone with it")
    func graceOnlyShrinks() async throws {
        try await Harness.with { h in
            h.syncer.scriptTerminating("a", .hang, .hang)
            h.manager.update("a", config: TestConfig(terminationGracePeriod: .seconds(30)), type: .create)
            await h.waitFor("a", .running)

            h.manager.terminate("a", gracePeriod: .seconds(10))
            await h.waitForEvent("terminating with 10 s") { $0 == .terminating("a", TerminationContext(gracePeriod: .seconds(10), remaining: .seconds(10))) }
            #expect(h.sample("procmgr_process_grace_period_seconds{process=\"a\"}") == 10)

            h.clock.advance(by: .seconds(2))
            h.manager.terminate("a", gracePeriod: .seconds(5))
            await h.waitForEvent("terminating with 5 s") { $0 == .terminating("a", TerminationContext(gracePeriod: .seconds(5), remaining: .seconds(3))) }
            #expect(h.syncer.events.contains(.terminatingCancelled("a")))
            #expect(h.sample("procmgr_process_grace_period_seconds{process=\"a\"}") == 5)

            h.manager.terminate("a", gracePeriod: .seconds(20))
            #expect(h.manager.status(of: "a")?.gracePeriod == .seconds(5))
            #expect(h.sample("procmgr_process_grace_period_seconds{process=\"a\"}") == 5)
            let terminatingCalls = h.syncer.events.filter { if case .terminating = $0 { true } else { false } }
            #expect(terminatingCalls.count == 2)

            // Let the second call finish: a shorter request cancels it, and the redo succeeds.
            h.manager.terminate("a", gracePeriod: .seconds(1))
            await h.waitFor("a", .terminated)
            #expect(h.manager.status(of: "a")?.gracePeriod == .seconds(1))
        }
    }

    @Test("the config's grace period is the ceiling of a requested one")
    func configGraceIsCeiling() async throws {
        try await Harness.with { h in
            h.manager.update("a", config: TestConfig(terminationGracePeriod: .seconds(3)), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a", gracePeriod: .seconds(60))
            await h.waitFor("a", .terminated)
            #expect(h.syncer.events.contains(.terminating("a", TerminationContext(gracePeriod: .seconds(3), remaining: .seconds(3)))))
        }
    }

    @Test("terminate during a long sync cancels the sync")
    func terminateCancelsSync() async throws {
        try await Harness.with { h in
            h.syncer.scriptSync("a", .hang)
            h.manager.update("a", config: TestConfig(), type: .create)
            await h.waitForEvent("the sync") { $0 == .sync("a", version: 1, .create) }
            h.manager.terminate("a", gracePeriod: .seconds(4))
            await h.waitFor("a", .finished)
            #expect(h.syncer.events == [
                .sync("a", version: 1, .create),
                .syncCancelled("a"),
                .terminating("a", TerminationContext(gracePeriod: .seconds(4), remaining: .seconds(4))),
                .terminated("a"),
            ])
            // The cancelled sync is not an error: termination made it moot.
            #expect(h.manager.status(of: "a")?.errorCount == 0)
        }
    }

    @Test("failing terminating and terminated hooks are retried until they succeed")
    func hooksRetried() async throws {
        try await Harness.with { h in
            h.syncer.scriptTerminating("a", .fail("kill failed"), .fail("kill failed again"))
            h.syncer.scriptTerminated("a", .fail("port release failed"))
            h.manager.update("a", config: TestConfig(), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a")
            for failures in 1...2 {
                await h.waitForStatus("a") { $0.consecutiveFailures == failures && $0.nextSyncAt != nil }
                h.clock.advance(by: .seconds(60))
            }
            await h.waitFor("a", .terminated)
            await h.waitForStatus("a") { $0.consecutiveFailures == 1 && $0.nextSyncAt != nil }
            h.clock.advance(by: .seconds(60))
            await h.waitFor("a", .finished)
            #expect(h.sample("procmgr_errors_total{process=\"a\",phase=\"terminating\"}") == 2)
            #expect(h.sample("procmgr_errors_total{process=\"a\",phase=\"terminated\"}") == 1)
            #expect(h.manager.status(of: "a")?.errorCount == 3)
        }
    }

    @Test("onTerminated is called exactly once, also for unknown and already terminated processes")
    func completionCallbackOnce() async throws {
        try await Harness.with { h in
            let calls = LockedState<[String]>([])
            h.manager.update("a", config: TestConfig(), type: .create)
            await h.waitFor("a", .running)
            h.manager.terminate("a", onTerminated: { calls.withLock { $0.append("first") } })
            h.manager.terminate("a", onTerminated: { calls.withLock { $0.append("second") } })
            await h.waitFor("a", .finished)
            h.manager.terminate("a", onTerminated: { calls.withLock { $0.append("after") } })
            let known = h.manager.terminate("nope", onTerminated: { calls.withLock { $0.append("unknown") } })
            #expect(!known)
            let recorded = calls.withLock { $0.sorted() }
            #expect(recorded == ["after", "first", "second", "unknown"])
        }
    }

    @Test("terminating_since and grace series exist only while terminating")
    func terminatingSeriesLifetime() async throws {
        try await Harness.with { h in
            h.syncer.scriptTerminating("a", .hang)
            h.manager.update("a", config: TestConfig(terminationGracePeriod: .seconds(9)), type: .create)
            await h.waitFor("a", .running)
            #expect(h.sample("procmgr_process_terminating_since_seconds{process=\"a\"}") == nil)
            h.clock.advance(by: .seconds(5))
            h.manager.terminate("a")
            await h.waitForEvent("terminating") { if case .terminating = $0 { true } else { false } }
            #expect(h.sample("procmgr_process_terminating_since_seconds{process=\"a\"}") == 1_700_000_005)
            #expect(h.sample("procmgr_process_grace_period_seconds{process=\"a\"}") == 9)
            #expect(h.sample("procmgr_processes{state=\"terminating\"}") == 1)
            h.manager.terminate("a", gracePeriod: .zero)
            await h.waitFor("a", .terminated)
            #expect(h.sample("procmgr_process_terminating_since_seconds{process=\"a\"}") == nil)
            #expect(h.sample("procmgr_process_grace_period_seconds{process=\"a\"}") == nil)
        }
    }

    @Test("waitUntil returns early when its task is cancelled")
    func waitCancellation() async throws {
        try await Harness.with { h in
            h.syncer.scriptSync("a", .hang)
            h.manager.update("a", config: TestConfig(), type: .create)
            let waiter = Task { await h.manager.waitUntil("a", reaches: .finished) }
            waiter.cancel()
            #expect(await waiter.value == .starting)
            h.manager.terminate("a", gracePeriod: .zero)
            await h.waitFor("a", .finished)
        }
    }
}
