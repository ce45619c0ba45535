import Foundation
import ProcmgrEngine
import Testing
@testable import ProcmgrAgent

/// The poll loop's decisions, without I/O: what is delivered, which ETag is sent, how long to wait.
@Suite struct AdminSourcePollStateTests {
    let backoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(400), multiplier: 2, jitter: 0.2)
    let a = Data("a".utf8)
    let b = Data("b".utf8)

    func state() -> AdminPollState { AdminPollState(pollInterval: .seconds(5), backoff: backoff) }

    @Test func firstBodyIsDeliveredAndItsETagIsSentNext() {
        var state = state()
        #expect(state.ifNoneMatch == nil)
        #expect(state.received(data: a, etag: "\"1\"") == .deliver(AdminBody(data: a, etag: "\"1\"")))
        state.delivered(AdminBody(data: a, etag: "\"1\""), accepted: true)
        #expect(state.ifNoneMatch == "\"1\"")
        #expect(state.lastGood == AdminBody(data: a, etag: "\"1\""))
    }

    @Test func sameETagIsUnchangedEvenIfTheServiceIgnoredIfNoneMatch() {
        var state = state()
        state.delivered(AdminBody(data: a, etag: "\"1\""), accepted: true)
        #expect(state.received(data: a, etag: "\"1\"") == .unchanged)
    }

    @Test func withoutETagsTheBytesDecide() {
        var state = state()
        state.delivered(AdminBody(data: a), accepted: true)
        #expect(state.received(data: a, etag: nil) == .unchanged)
        #expect(state.received(data: b, etag: nil) == .deliver(AdminBody(data: b)))
    }

    @Test func sameBytesUnderANewETagAdoptTheETag() {
        var state = state()
        state.adoptedCache(AdminBody(data: a, fromCache: true), accepted: true)
        #expect(state.ifNoneMatch == nil)
        #expect(state.received(data: a, etag: "\"7\"") == .unchanged)
        #expect(state.ifNoneMatch == "\"7\"")
    }

    @Test func aRejectedBodyIsRememberedButNotLastGood() {
        var state = state()
        state.delivered(AdminBody(data: a, etag: "\"1\""), accepted: true)
        state.delivered(AdminBody(data: b, etag: "\"2\""), accepted: false)
        #expect(state.lastGood == AdminBody(data: a, etag: "\"1\""))
        #expect(state.ifNoneMatch == "\"2\"")
        #expect(state.received(data: b, etag: "\"2\"") == .unchanged)
        #expect(state.received(data: b, etag: nil) == .unchanged)
    }

    @Test func cacheAfterARejectedLiveBodyKeepsTheLiveETag() {
        var state = state()
        state.delivered(AdminBody(data: b, etag: "\"2\""), accepted: false)
        state.adoptedCache(AdminBody(data: a, fromCache: true), accepted: true)
        #expect(state.ifNoneMatch == "\"2\"")
        #expect(state.lastGood == AdminBody(data: a, fromCache: true))
    }

    @Test func backoffGrowsToItsCapAndASuccessResetsIt() {
        var state = state()
        #expect(state.nextDelay == .zero)
        let delays = (0..<4).map { _ in state.failed(random: 0.5) }
        #expect(delays.map(\.wholeMilliseconds) == [100, 200, 400, 400])
        #expect(state.consecutiveFailures == 4)
        #expect(state.succeeded() == .seconds(5))
        #expect(state.consecutiveFailures == 0)
        #expect(state.failed(random: 0.5).wholeMilliseconds == 100)
    }

    @Test func jitterSpreadsTheDelay() {
        var low = state()
        var high = state()
        #expect(low.failed(random: 0).wholeMilliseconds == 80)
        #expect(high.failed(random: 1).wholeMilliseconds == 120)
    }
}

extension Duration {
    /// Rounded to whole milliseconds: `Backoff` computes in floating-point seconds, so its
    /// 100 ms is 100 ms give or take some attoseconds.
    var wholeMilliseconds: Int { Int((seconds * 1000).rounded()) }
}
