@testable import ProcmgrEngine
import ProcmgrTestKit
import Testing

@Suite("Worker state machine")
struct WorkerStateMachineTests {
    typealias Machine = WorkerStateMachine
    let t0 = EngineTime.zero

    func at(_ seconds: Int) -> EngineTime { .seconds(seconds) }

    @Test("the full lifecycle walks every state once, in order")
    func fullLifecycle() throws {
        var machine = Machine(id: "a", config: TestConfig(terminationGracePeriod: .seconds(10)), now: t0)
        #expect(machine.state == .starting)
        guard case .sync(_, .create)? = machine.beginWork(now: t0) else { Issue.record("expected create"); return }
        let started = machine.completeSync(.success(.running), now: at(2))
        #expect(started.entered == .running)
        #expect(started.startDuration == .seconds(2))
        #expect(started.next == .resync)
        let idle = machine.beginWork(now: at(3))
        #expect(idle == nil, "nothing to do without a wake")

        let decision = machine.requestTermination(gracePeriod: nil, reason: "test", now: at(4))
        #expect(decision.began && decision.wake && !decision.cancelInFlight)
        guard case .terminating(_, let context)? = machine.beginWork(now: at(6)) else { Issue.record("expected terminating"); return }
        #expect(context == TerminationContext(gracePeriod: .seconds(10), remaining: .seconds(8)))
        let terminated = machine.completeTerminating(.success(()), now: at(7))
        #expect(terminated.entered == .terminated)
        #expect(terminated.terminationDuration == .seconds(3))
        guard case .terminated? = machine.beginWork(now: at(7)) else { Issue.record("expected terminated"); return }
        let finished = machine.completeTerminated(.success(()), now: at(8))
        #expect(finished.entered == .finished)
        #expect(finished.next == .exit)
        guard case .exit? = machine.beginWork(now: at(9)) else { Issue.record("expected exit"); return }
    }

    @Test("termination during a sync cancels it and discards its result")
    func terminationDuringSync() {
        var machine = Machine(id: "a", config: TestConfig(), now: t0)
        _ = machine.beginWork(now: t0)
        let decision = machine.requestTermination(gracePeriod: .seconds(1), reason: "test", now: at(1))
        #expect(decision.cancelInFlight)
        let completion = machine.completeSync(.failure(CancellationError()), now: at(1))
        #expect(completion.next == .immediately)
        #expect(completion.error == nil)
        #expect(machine.errorCount == 0)
        #expect(machine.state == .terminating)
        #expect(machine.startedAt == nil, "a cancelled first sync never made it running")
    }

    @Test("the grace period only shrinks, and only a shrink below the in-flight call's cancels it")
    func graceShrinkOnly() {
        var machine = Machine(id: "a", config: TestConfig(terminationGracePeriod: .seconds(30)), now: t0)
        _ = machine.requestTermination(gracePeriod: .seconds(10), reason: "test", now: t0)
        _ = machine.beginWork(now: t0)
        let longer = machine.requestTermination(gracePeriod: .seconds(20), reason: "test", now: t0)
        #expect(longer == .init())
        let shrink = machine.requestTermination(gracePeriod: .seconds(5), reason: "test", now: t0)
        #expect(shrink.shortenedGrace && shrink.cancelInFlight && !shrink.wake)
        #expect(machine.gracePeriod == .seconds(5))
        let completion = machine.completeTerminating(.failure(CancellationError()), now: at(1))
        #expect(completion.next == .immediately, "redo with the shorter grace")
        #expect(machine.errorCount == 0)
        guard case .terminating(_, let context)? = machine.beginWork(now: at(2)) else { Issue.record("expected terminating"); return }
        #expect(context == TerminationContext(gracePeriod: .seconds(5), remaining: .seconds(3)))
    }

    @Test("updates are latest-wins and ignored once terminating, where a create is kept for later")
    func updates() {
        var machine = Machine(id: "a", config: TestConfig(version: 1), now: t0)
        let woke = [machine.receiveUpdate(TestConfig(version: 2), type: .update), machine.receiveUpdate(TestConfig(version: 3), type: .update)]
        #expect(woke == [true, true])
        guard case .sync(let config, .create)? = machine.beginWork(now: t0) else { Issue.record("expected create"); return }
        #expect((config as? TestConfig)?.version == 3)
        _ = machine.completeSync(.success(.terminal(reason: "exited")), now: t0)
        #expect(machine.state == .terminating)
        let ignored = [
            machine.receiveUpdate(TestConfig(version: 4), type: .update),
            machine.requestSync(),
            machine.receiveUpdate(TestConfig(version: 5), type: .create),
        ]
        #expect(ignored == [false, false, false])
        #expect((machine.recreateRequest as? TestConfig)?.version == 5)
        #expect((machine.latestConfig as? TestConfig)?.version == 3)
    }
}

extension WorkerStateMachine.Work: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        func same(_ a: any ProcessConfiguration, _ b: any ProcessConfiguration) -> Bool {
            (a as? TestConfig) == (b as? TestConfig)
        }
        switch (lhs, rhs) {
        case let (.sync(a, x), .sync(b, y)): return same(a, b) && x == y
        case let (.terminating(a, x), .terminating(b, y)): return same(a, b) && x == y
        case let (.terminated(a), .terminated(b)): return same(a, b)
        case (.exit, .exit): return true
        default: return false
        }
    }
}
