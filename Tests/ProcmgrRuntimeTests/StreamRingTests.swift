import ProcmgrSupport
import Testing

/// `StreamRing`: the history + followers behind the events stream and followed logs.
@Suite struct StreamRingTests {
    @Test func idsIncreaseAndTheRingKeepsTheNewest() {
        let ring = StreamRing<String>(capacity: 3, subscriberBuffer: 8)
        for word in ["a", "b", "c", "d", "e"] { ring.append(word) }
        #expect(ring.lastID == 5)
        #expect(ring.tail(10).map(\.id) == [3, 4, 5])
        #expect(ring.tail(2).map(\.element) == ["d", "e"])
    }

    @Test func resumingAfterAnIdReplaysTheRestOrSaysWhatWasMissed() {
        let ring = StreamRing<Int>(capacity: 3, subscriberBuffer: 8)
        for value in 1...5 { ring.append(value) }
        let kept = ring.subscribe(after: 3)
        #expect(kept.replay.entries.map(\.id) == [4, 5])
        #expect(kept.replay.missed == nil)
        let lost = ring.subscribe(after: 1)
        #expect(lost.replay.entries.map(\.id) == [3, 4, 5])
        #expect(lost.replay.missed?.requested == 1)
        #expect(lost.replay.missed?.oldest == 3)
        let future = ring.subscribe(after: 99)
        #expect(future.replay.entries.isEmpty)
        #expect(future.replay.missed == nil)
        let tail = ring.subscribe(after: nil, tail: 2)
        #expect(tail.replay.entries.map(\.element) == [4, 5])
        for subscription in [kept, lost, future, tail] { subscription.subscription.cancel() }
        #expect(ring.subscriberCount == 0)
    }

    @Test func aRingStartedLaterNumbersAboveTheEarlierOneSoAnOldIdIsReportedMissed() {
        let before = StreamRing<Int>(capacity: 8, subscriberBuffer: 8, firstID: StreamRing<Int>.epochID())
        for value in 1...3 { before.append(value) }
        let oldID = before.lastID
        // The next agent's ring, created later.
        let after = StreamRing<Int>(capacity: 8, subscriberBuffer: 8, firstID: StreamRing<Int>.epochID() + 1)
        #expect(after.lastID >= oldID)
        let empty = after.subscribe(after: oldID)
        #expect(empty.replay.entries.isEmpty)
        #expect(empty.replay.missed?.requested == oldID)
        after.append(10)
        let resumed = after.subscribe(after: oldID)
        #expect(resumed.replay.entries.map(\.element) == [10])
        #expect(resumed.replay.missed?.requested == oldID)
        for subscription in [empty, resumed] { subscription.subscription.cancel() }
    }

    @Test func aWaitingFollowerGetsEveryNewEntryInOrder() async {
        let ring = StreamRing<Int>(capacity: 16, subscriberBuffer: 1_000)
        let (_, subscription) = ring.subscribe(after: nil)
        let reader = Task {
            var seen: [Int] = []
            while seen.count < 500, let delivery = await subscription.next() {
                if case .entries(let entries) = delivery { seen += entries.map(\.element) }
            }
            return seen
        }
        for value in 1...500 { ring.append(value) }
        #expect(await reader.value == Array(1...500))
        subscription.cancel()
    }

    @Test func aFollowerThatFallsBehindIsOverflowedOnceAndReleased() async {
        let ring = StreamRing<Int>(capacity: 4, subscriberBuffer: 2)
        let (_, slow) = ring.subscribe(after: nil)
        let (_, other) = ring.subscribe(after: nil)
        ring.append(1)
        ring.append(2)
        _ = await other.next()  // the other one keeps up
        ring.append(3)  // the slow one's buffer is full: dropped
        #expect(ring.subscriberCount == 1)
        guard case .overflowed? = await slow.next() else {
            Issue.record("expected .overflowed")
            return
        }
        let after = await slow.next()
        #expect(after == nil)
        guard case .entries(let entries)? = await other.next() else {
            Issue.record("expected the other follower's entry")
            return
        }
        #expect(entries.map(\.element) == [3])
        other.cancel()
    }

    @Test func pokeWakesAWaitingReaderAndCancelEndsIt() async {
        let ring = StreamRing<Int>(capacity: 4, subscriberBuffer: 4)
        let (_, subscription) = ring.subscribe(after: nil)
        subscription.poke()
        guard case .keepAlive? = await subscription.next() else {
            Issue.record("expected .keepAlive")
            return
        }
        let reader = Task { await subscription.next() }
        reader.cancel()
        let ended = await reader.value
        #expect(ended == nil)
        #expect(ring.subscriberCount == 0)
    }

    /// Under the thread sanitizer (the runtime suite runs there; the HTTP suite does not): what an
    /// SSE stream does — readers that follow, readers that stall and are overflowed, keep-alive
    /// pokes and cancellations — from many tasks at once. A stalled reader's `onOverflow` runs
    /// exactly once; every reader that keeps up sees every id in order.
    @Test func overflowCallbacksAndFollowersUnderConcurrency() async throws {
        let ring = StreamRing<Int>(capacity: 64, subscriberBuffer: 1_024)
        let overflows = LockedState([Int](repeating: 0, count: 4))
        let stalled = (0..<4).map { index in
            ring.subscribe(after: nil) { overflows.withLock { $0[index] += 1 } }.subscription
        }
        let total = 5_000
        let followers = (0..<3).map { _ in ring.subscribe(after: nil).subscription }
        let seen = await withTaskGroup(of: [UInt64]?.self, returning: [[UInt64]].self) { group in
            for follower in followers {
                group.addTask {
                    var ids: [UInt64] = []
                    while ids.last.map({ $0 < UInt64(total) }) ?? true, let delivery = await follower.next() {
                        switch delivery {
                        case .entries(let entries): ids += entries.map(\.id)
                        case .keepAlive: continue
                        case .overflowed: return ids
                        }
                    }
                    follower.cancel()
                    return ids
                }
            }
            group.addTask {
                for value in 1...total {
                    ring.append(value)
                    if value % 64 == 0 {
                        for follower in followers { follower.poke() }
                        await Task.yield()
                    }
                }
                return nil
            }
            var all: [[UInt64]] = []
            for await ids in group {
                if let ids { all.append(ids) }
            }
            return all
        }
        #expect(overflows.withLock { $0 } == [1, 1, 1, 1])
        for subscription in stalled {
            guard case .overflowed? = await subscription.next() else {
                Issue.record("a stalled reader was not told it was overflowed")
                continue
            }
        }
        // A follower either saw every id in order or (on a very slow machine) fell behind and
        // was overflowed after an in-order prefix: never a gap, a repeat or a reordering.
        #expect(seen.count == followers.count)
        for ids in seen {
            #expect(ids.enumerated().allSatisfy { $0.element == UInt64($0.offset + 1) })
        }
        #expect(ring.subscriberCount == 0)
    }
}
