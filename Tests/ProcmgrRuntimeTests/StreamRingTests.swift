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
}
