import ProcmgrSupport

/// The one timer behind every SSE stream's `: keep-alive` comment.
///
/// Proxies and browsers give up on a connection that stays silent too long, so an idle stream
/// must say something now and then. One task for all of them, not a timer per stream: every
/// `interval` it pokes each registered subscription (``StreamRing/Subscription/poke()``), whose
/// stream then writes the comment. It runs only while at least one stream is registered: the last
/// ``unregister(_:)`` cancels it, so an agent nobody follows has no timer at all.
final class KeepAliveTicker: Sendable {
    /// What ``register(_:)`` returns, to unregister with.
    struct Ticket: Hashable, Sendable {
        fileprivate let key: UInt64
    }

    private struct State {
        var pokes: [UInt64: @Sendable () -> Void] = [:]
        var nextKey: UInt64 = 0
        var task: Task<Void, Never>?
        /// Bumped whenever the task is replaced, so a cancelled task that already woke up pokes nothing.
        var generation: UInt64 = 0
    }

    let interval: Duration
    private let state = LockedState(State())

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether the timer task exists now (for tests: none without streams).
    var isTicking: Bool { state.withLock { $0.task != nil } }

    /// `poke` is called every `interval` until the ticket is unregistered.
    func register(_ poke: @escaping @Sendable () -> Void) -> Ticket {
        state.withLock { state in
            state.nextKey += 1
            state.pokes[state.nextKey] = poke
            if state.task == nil {
                state.generation += 1
                let generation = state.generation
                state.task = Task { await self.tick(generation: generation) }
            }
            return Ticket(key: state.nextKey)
        }
    }

    func unregister(_ ticket: Ticket) {
        let stopped = state.withLock { state -> Task<Void, Never>? in
            state.pokes[ticket.key] = nil
            guard state.pokes.isEmpty, let task = state.task else { return nil }
            state.task = nil
            state.generation += 1
            return task
        }
        stopped?.cancel()
    }

    private func tick(generation: UInt64) async {
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let pokes = state.withLock { state -> [@Sendable () -> Void]? in
                state.generation == generation ? Array(state.pokes.values) : nil
            }
            guard let pokes else { return }
            for poke in pokes { poke() }
        }
    }
}
