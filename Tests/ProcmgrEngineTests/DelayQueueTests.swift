@testable import ProcmgrEngine
import Testing

@Suite("Delay queue")
struct DelayQueueTests {
    @Test("pops due entries earliest first, one entry per key, replace and remove in place")
    func ordering() {
        var queue = DelayQueue<String, Int, String>()
        let movedEarlier = [
            queue.schedule("c", at: 30, payload: "c1"),
            queue.schedule("a", at: 10, payload: "a1"),
            queue.schedule("b", at: 20, payload: "b1"),
            // c moves earlier than 30 but not before 10: the queue's earliest deadline stays.
            queue.schedule("c", at: 15, payload: "c2"),
        ]
        #expect(movedEarlier == [true, true, false, false])
        #expect(queue.count == 3)
        #expect(queue.deadline(of: "c") == 15)
        let removed = queue.remove("a")
        #expect(removed?.payload == "a1")
        #expect(queue.nextDeadline == 15)
        #expect(queue.popDue(now: 14).isEmpty)
        let due = queue.popDue(now: 20)
        #expect(due.map(\.key) == ["c", "b"])
        #expect(due.map(\.payload) == ["c2", "b1"])
        #expect(queue.isEmpty)
    }

    @Test("random schedules, replaces and removes keep heap order")
    func randomized() {
        var queue = DelayQueue<Int, Int, Void>()
        var model: [Int: Int] = [:]
        var generator = SplitMix(seed: 42)
        for _ in 0..<5_000 {
            let key = Int(generator.next() % 300)
            switch generator.next() % 3 {
            case 0, 1:
                let deadline = Int(generator.next() % 10_000)
                queue.schedule(key, at: deadline, payload: ())
                model[key] = deadline
            default:
                queue.remove(key)
                model[key] = nil
            }
        }
        #expect(queue.count == model.count)
        let popped = queue.popDue(now: Int.max)
        #expect(popped.map(\.deadline) == model.values.sorted())
        #expect(Set(popped.map(\.key)) == Set(model.keys))
    }
}

/// A tiny deterministic generator so the randomized test is reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
