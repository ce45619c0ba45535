import ProcmgrEngine
import ProcmgrTestKit
import Testing

@Suite("Backoff", .timeLimit(.minutes(1)))
struct BackoffTests {
    @Test("delays grow by the multiplier up to the cap")
    func growthAndCap() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(10), multiplier: 2, jitter: 0)
        let delays = (1...7).map { backoff.delay(afterFailures: $0, random: 0.9) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10), .seconds(10)])
        #expect(backoff.delay(afterFailures: 0, random: 0.5) == .zero)
    }

    @Test("jitter spreads a delay symmetrically and stays within its bounds, also at the cap")
    func jitterBounds() {
        let backoff = Backoff(initial: .seconds(4), maximum: .seconds(4), multiplier: 2, jitter: 0.25)
        #expect(backoff.delay(afterFailures: 3, random: 0) == .seconds(3))
        #expect(backoff.delay(afterFailures: 3, random: 0.5) == .seconds(4))
        for step in 0..<100 {
            let delay = backoff.delay(afterFailures: 3, random: Double(step) / 100)
            #expect(delay >= .seconds(3) && delay < .seconds(5))
        }
    }

    @Test("a failing sync retries on the backoff schedule, which resets after a success")
    func scheduleOnManualClock() async throws {
        try await Harness.with(configure: {
            $0.errorBackoff = Backoff(initial: .seconds(1), maximum: .seconds(8), multiplier: 2, jitter: 0.25)
            $0.resyncInterval = .seconds(100)
        }) { h in
            let start = 1_700_000_000.0
            h.syncer.scriptSync("a", .fail("1"), .fail("2"), .fail("3"), .fail("4"), .fail("5"), .succeed, .fail("again"))
            h.manager.update("a", config: TestConfig(), type: .create)
            var elapsed = 0.0
            for (failures, expectedDelay) in zip(1...5, [1.0, 2, 4, 8, 8]) {
                await h.waitForStatus("a") { $0.consecutiveFailures == failures && $0.nextSyncAt != nil }
                let status = try #require(h.manager.status(of: "a"))
                #expect(status.nextSyncAt == start + elapsed + expectedDelay, "after \(failures) failures")
                #expect(status.lastError == "\(failures)")
                elapsed += expectedDelay
                h.clock.advance(by: .seconds(expectedDelay))
            }
            await h.waitFor("a", .running)
            // Success: resync after the interval plus half of the 0.5 jitter (random pinned to 0.5).
            let resyncAt = start + elapsed + 125
            await h.waitForStatus("a") { $0.consecutiveFailures == 0 && $0.nextSyncAt == resyncAt }
            h.clock.advance(by: .seconds(125))
            elapsed += 125
            await h.waitForStatus("a") { $0.consecutiveFailures == 1 }
            #expect(h.manager.status(of: "a")?.nextSyncAt == start + elapsed + 1, "backoff reset after success")
            #expect(h.sample("procmgr_work_queue_retries_total") == 6)
            #expect(h.sample("procmgr_errors_total{process=\"a\",phase=\"sync\"}") == 6)
            #expect(h.sample("procmgr_work_queue_backoff_seconds_count") == 6)
        }
    }

    @Test("transient errors retry after the short interval, not the backoff")
    func transientRetry() async throws {
        try await Harness.with(configure: {
            $0.transientRetryInterval = .seconds(2)
            $0.errorBackoff = Backoff(initial: .seconds(30))
        }) { h in
            h.syncer.scriptSync("a", .failTransient, .failTransient)
            h.manager.update("a", config: TestConfig(), type: .create)
            await h.waitForStatus("a") { $0.consecutiveFailures == 1 && $0.nextSyncAt != nil }
            #expect(h.manager.status(of: "a")?.nextSyncAt == 1_700_000_000 + 2.5)
            h.clock.advance(by: .seconds(2.5))
            await h.waitForStatus("a") { $0.consecutiveFailures == 2 && $0.nextSyncAt == 1_700_000_000 + 5 }
            h.clock.advance(by: .seconds(2.5))
            await h.waitFor("a", .running)
        }
    }

    @Test("the syncer's requested resync delay is scheduled exactly")
    func requestedResync() async throws {
        try await Harness.with { h in
            h.syncer.scriptSync("a", .resync(after: .seconds(7)))
            h.manager.update("a", config: TestConfig(), type: .create)
            await h.waitForStatus("a") { $0.nextSyncAt == 1_700_000_000 + 7 }
            h.clock.advance(by: .seconds(7))
            await h.waitForEvent("the resync") { $0 == .sync("a", version: 1, .sync) }
        }
    }
}
