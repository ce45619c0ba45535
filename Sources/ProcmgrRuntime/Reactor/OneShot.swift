import ProcmgrSupport

/// A value that is set once and can be awaited by any number of tasks, optionally with a
/// deadline.
///
/// Why: exit statuses, stop results and "capture finished" are produced on OS threads (epoll
/// loops) and consumed by async code. This bridges the two with continuations, without
/// polling, and lets a waiter give up at a deadline (used by group stop's grace period)
/// without leaking the waiter.
public final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
        var timers: [UInt64: Task<Void, Never>] = [:]
        var callbacks: [@Sendable (Value) -> Void] = []
        var nextID: UInt64 = 0
    }

    private let state = LockedState(State())

    public init() {}

    /// The value, if already set.
    public var value: Value? { state.withLock { $0.value } }

    /// Sets the value and wakes every waiter. Returns false if it was already set (the first
    /// value wins).
    @discardableResult
    public func fulfill(_ value: Value) -> Bool {
        let taken = state.withLock { state -> (waiters: [CheckedContinuation<Value?, Never>], timers: [Task<Void, Never>], callbacks: [@Sendable (Value) -> Void])? in
            guard state.value == nil else { return nil }
            state.value = value
            defer {
                state.waiters.removeAll()
                state.timers.removeAll()
                state.callbacks.removeAll()
            }
            return (Array(state.waiters.values), Array(state.timers.values), state.callbacks)
        }
        guard let taken else { return false }
        for timer in taken.timers { timer.cancel() }
        // Callbacks first: they are short by contract, and a waiter resumed here that reads state
        // set by a callback then sees it. The value itself is visible before the callbacks run
        // (group stop's callback wakes a loop that reads it), so a task that reads `value` or
        // calls `wait()` in that window returns before the callbacks ran: an observer of a
        // callback's effect must wait for that effect, not for the value.
        for callback in taken.callbacks { callback(value) }
        for waiter in taken.waiters { waiter.resume(returning: value) }
        return true
    }

    /// Calls `callback` once with the value: immediately if already set, otherwise on the
    /// thread that fulfills, before waiters are resumed. Keep it short and non-blocking.
    public func onFulfill(_ callback: @escaping @Sendable (Value) -> Void) {
        let existing = state.withLock { state -> Value? in
            if let value = state.value { return value }
            state.callbacks.append(callback)
            return nil
        }
        if let existing { callback(existing) }
    }

    /// Waits for the value. Not cancellable: use ``wait(until:)`` for a bounded wait.
    public func wait() async -> Value {
        if let value = self.value { return value }
        let id = nextID()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let existing = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters[id] = continuation
                return nil
            }
            if let existing { continuation.resume(returning: existing) }
        }
        guard let result else {
            // invariant: waiters are resumed only with a value (fulfil) — never with nil.
            preconditionFailure("OneShot waiter resumed without a value")
        }
        return result
    }

    /// Waits for the value until `deadline`; nil when the deadline passed first or the task
    /// was cancelled.
    public func wait(until deadline: ContinuousClock.Instant) async -> Value? {
        if let value = self.value { return value }
        let id = nextID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                // .some(value): answer now (nil value = give up); .none: registered.
                let immediate = state.withLock { state -> Value?? in
                    if let value = state.value { return .some(value) }
                    if Task.isCancelled || ContinuousClock.now >= deadline { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                let timer = Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    if Task.isCancelled { return }
                    self.expire(id)
                }
                let keep = state.withLock { state -> Bool in
                    guard state.waiters[id] != nil else { return false }
                    state.timers[id] = timer
                    return true
                }
                if !keep { timer.cancel() }
            }
        } onCancel: {
            self.expire(id)
        }
    }

    /// Waits at most `timeout`.
    public func wait(timeout: Duration) async -> Value? {
        await wait(until: ContinuousClock.now.advanced(by: timeout))
    }

    private func nextID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    private func expire(_ id: UInt64) {
        let taken = state.withLock { state -> (CheckedContinuation<Value?, Never>?, Task<Void, Never>?) in
            (state.waiters.removeValue(forKey: id), state.timers.removeValue(forKey: id))
        }
        taken.1?.cancel()
        taken.0?.resume(returning: nil)
    }
}

/// A reusable wake-up for one waiting loop: ``signal()`` wakes the current (or next) call of
/// ``wait(until:)``.
///
/// Why: the group-stop loop must wake on "leader exited" *and* on "grace was shortened by a
/// second stop call", whichever comes first, and otherwise at its deadline.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var continuation: CheckedContinuation<Void, Never>?
        var timer: Task<Void, Never>?
        var generation: UInt64 = 0
    }

    private let state = LockedState(State())

    func signal() {
        let taken = state.withLock { state -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            guard let continuation = state.continuation else {
                state.pending = true
                return (nil, nil)
            }
            state.continuation = nil
            defer { state.timer = nil }
            return (continuation, state.timer)
        }
        taken.1?.cancel()
        taken.0?.resume()
    }

    /// Returns when signalled (including a signal that arrived since the last wait) or at
    /// `deadline`.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let generation = state.withLock { state -> UInt64? in
                if state.pending || ContinuousClock.now >= deadline {
                    state.pending = false
                    return nil
                }
                state.generation += 1
                state.continuation = continuation
                return state.generation
            }
            guard let generation else {
                continuation.resume()
                return
            }
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                if Task.isCancelled { return }
                self.fire(generation)
            }
            let keep = state.withLock { state -> Bool in
                guard state.continuation != nil, state.generation == generation else { return false }
                state.timer = timer
                return true
            }
            if !keep { timer.cancel() }
        }
    }

    private func fire(_ generation: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation, let continuation = state.continuation else { return nil }
            state.continuation = nil
            state.timer = nil
            return continuation
        }
        continuation?.resume()
    }
}
