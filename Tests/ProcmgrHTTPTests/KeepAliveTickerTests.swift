import ProcmgrSupport
import ProcmgrMetrics
import ProcmgrTestKit
import Testing

@testable import ProcmgrHTTP

@Suite("One keep-alive ticker for every stream, running only while there are streams", .timeLimit(.minutes(1)))
struct KeepAliveTickerTests {
    @Test("no streams, no timer; the first registration starts it, the last unregistration stops it")
    func runsOnlyWithStreams() async throws {
        let ticker = KeepAliveTicker(interval: .milliseconds(10))
        #expect(!ticker.isTicking)
        let pokes = LockedState([0, 0])
        let first = ticker.register { pokes.withLock { $0[0] += 1 } }
        let second = ticker.register { pokes.withLock { $0[1] += 1 } }
        #expect(ticker.isTicking)
        try await eventually("both poked twice") { pokes.withLock { $0.allSatisfy { $0 >= 2 } } }
        ticker.unregister(first)
        let firstCount = pokes.withLock { $0[0] }
        let secondCount = pokes.withLock { $0[1] }
        try await eventually("the second still poked") { pokes.withLock { $0[1] } >= secondCount + 2 }
        #expect(pokes.withLock { $0[0] } == firstCount)
        ticker.unregister(second)
        #expect(!ticker.isTicking)
        let again = ticker.register { pokes.withLock { $0[0] += 1 } }
        #expect(ticker.isTicking)
        try await eventually("poked after a restart") { pokes.withLock { $0[0] } > firstCount }
        ticker.unregister(again)
        #expect(!ticker.isTicking)
    }

    @Test("registrations and unregistrations from many tasks at once leave no timer behind")
    func concurrentChurn() async throws {
        let ticker = KeepAliveTicker(interval: .milliseconds(1))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<500 {
                        let ticket = ticker.register {}
                        await Task.yield()
                        ticker.unregister(ticket)
                    }
                }
            }
        }
        #expect(!ticker.isTicking)
    }

    @Test("streams over the cap are refused; released slots (also dropped ones) free it")
    func streamCap() throws {
        let registry = MetricsRegistry()
        let streams = try ServerSentEventStreams(maxConnections: 16, keepAliveInterval: .seconds(15), registry: registry)
        #expect(streams.maxStreams == 8)
        var slots = (0..<8).compactMap { _ in streams.reserve(.events) }
        #expect(slots.count == 8)
        #expect(streams.reserve(.logs) == nil)
        slots[0].release()
        slots[0].release()
        #expect(streams.openStreams == 7)
        slots.removeLast()  // dropped without release(): its deinit gives the slot back
        #expect(streams.openStreams == 6)
        #expect(streams.reserve(.logs) != nil)  // dropped at once, too
        #expect(streams.openStreams == 6)
        #expect(ServerSentEventStreams.reservedConnections(of: ConnectionBudget.defaultMaxConnections) == 160)
        #expect(ConnectionBudget.defaultMaxConnections - 160 >= 1_000)
    }
}
