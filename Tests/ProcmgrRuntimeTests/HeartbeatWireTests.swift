@testable import ProcmgrRuntime
import Testing

/// The allocation-free PING formatter and PONG parser must say exactly what the String-based
/// versions they replaced said.
@Suite("Heartbeat wire format")
struct HeartbeatWireTests {
    private func formatted(_ sequence: UInt64) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            let count = HeartbeatChannel.formatPing(sequence, into: buffer)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    @Test("PING lines match string interpolation", arguments: [0, 1, 9, 10, 99, 100, 12_345, UInt64(Int64.max), UInt64.max])
    func ping(_ sequence: UInt64) {
        #expect(formatted(sequence) == "PING \(sequence)\n")
    }

    @Test("PONG lines parse as UInt64(String) did")
    func pong() {
        let cases: [String] = [
            "PONG 1", "PONG 0", "PONG 42\r", "PONG 18446744073709551615", "PONG 18446744073709551616",
            "PONG +7", "PONG -0", "PONG -3", "PONG +", "PONG -", "PONG ", "PONG", "PONG 12a", "PONG  1",
            "PONG 1 ", "PING 1", "pong 1", "", "\r", "PONG 5\r\r", "PONG 00012",
        ]
        for line in cases {
            var reference = line
            if reference.hasSuffix("\r") { reference.removeLast() }
            let expected = reference.hasPrefix("PONG ") ? UInt64(reference.dropFirst(5)) : nil
            #expect(HeartbeatChannel.parsePong(Array(line.utf8)) == expected, "\(line.debugDescription)")
        }
    }
}

@Suite("Heartbeat timer heap")
struct TimerHeapTests {
    private func popAll(_ heap: inout TimerHeap, now: UInt64) -> [UInt64] {
        var due: [TimerHeap.Entry] = []
        heap.popDue(now: now, into: &due)
        return due.map(\.token)
    }

    @Test("due entries come out earliest first; later ones stay")
    func order() {
        var heap = TimerHeap()
        let deadlines: [UInt64] = [50, 10, 40, 20, 30, 70, 60]
        for (token, deadline) in deadlines.enumerated() { heap.schedule(UInt64(token), at: deadline) {} }
        #expect(heap.nextDeadline == 10)
        #expect(popAll(&heap, now: 45) == [1, 3, 4, 2])
        #expect(heap.count == 3)
        #expect(heap.nextDeadline == 50)
        #expect(popAll(&heap, now: 100) == [0, 6, 5])
        #expect(heap.count == 0)
        #expect(heap.nextDeadline == nil)
    }

    @Test("scheduling a token again replaces its deadline and handler")
    func replace() {
        var heap = TimerHeap()
        heap.schedule(1, at: 100) {}
        heap.schedule(2, at: 200) {}
        heap.schedule(1, at: 300) {}
        heap.schedule(2, at: 50) {}
        #expect(heap.count == 2)
        var due: [TimerHeap.Entry] = []
        heap.popDue(now: 1000, into: &due)
        #expect(due.map(\.token) == [2, 1])
        #expect(due.map(\.deadline) == [50, 300])
    }

    @Test("removed entries never come out")
    func remove() {
        var heap = TimerHeap()
        for token in UInt64(0)..<20 { heap.schedule(token, at: 1000 - token * 10) {} }
        #expect(heap.remove(5)?.deadline == 950)
        #expect(heap.remove(5) == nil)
        #expect(heap.remove(19)?.deadline == 810)
        let order = popAll(&heap, now: .max)
        #expect(order == (UInt64(0)..<20).reversed().filter { $0 != 5 && $0 != 19 })
    }
}
