import ProcmgrSupport

/// Collects events from concurrent code and lets a test wait for a condition on them.
///
/// Waiting is event-driven: every `record` re-checks the waiting predicates. The timeout is only a
/// safety net that turns a hang into a loud failure; tests never sleep to synchronise.
public final class EventRecorder<Event: Sendable>: Sendable {
    private struct Waiter {
        let token: UInt64
        let predicate: @Sendable ([Event]) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var events: [Event] = []
        var waiters: [Waiter] = []
        var nextToken: UInt64 = 0
    }

    private let state = LockedState(State())

    public init() {}

    public var events: [Event] { state.withLock { $0.events } }

    public func record(_ event: Event) {
        let ready = state.withLock { state -> [Waiter] in
            state.events.append(event)
            let events = state.events
            let ready = state.waiters.filter { $0.predicate(events) }
            state.waiters.removeAll { waiter in ready.contains { $0.token == waiter.token } }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// Waits until `predicate` holds for the events recorded so far.
    /// - Returns: `false` if `timeout` (real time) passed first.
    public func waitUntil(
        timeout: Duration = .seconds(30), _ predicate: @escaping @Sendable ([Event]) -> Bool
    ) async -> Bool {
        let token = state.withLock { state -> UInt64 in
            state.nextToken += 1
            return state.nextToken
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                        let holdsNow = self.state.withLock { state -> Bool? in
                            if Task.isCancelled { return false }
                            if predicate(state.events) { return true }
                            state.waiters.append(Waiter(token: token, predicate: predicate, continuation: continuation))
                            return nil
                        }
                        if let holdsNow { continuation.resume(returning: holdsNow) }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { state -> Waiter? in
                        guard let index = state.waiters.firstIndex(where: { $0.token == token }) else { return nil }
                        return state.waiters.remove(at: index)
                    }
                    waiter?.continuation.resume(returning: false)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
