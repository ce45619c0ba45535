import ProcmgrSupport

/// Lets at most `width` starts run at once; the others wait their turn, first come first served.
///
/// Why: all spawns go through one thread (``SpawnThread``), so 1,000 starts in flight are no
/// faster than a few — but each one parked inside the spawn keeps its whole async call chain
/// (environment, spec, pipes: ~15 KiB of task frames) allocated. A cold start of 1,000 then
/// peaked at ~22 MiB of heap, and glibc keeps most of such a peak resident as fragments. Waiting
/// here, before the deep frames exist, costs a task a few hundred bytes instead, and a start
/// still never waits for more than the spawns queued ahead of it.
///
/// Not cancellable on purpose: a start that was waiting goes on to spawn, exactly as one that was
/// already inside the spawn does; the engine terminates it afterwards if it must.
final class StartGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// Index of the first live entry of `waiting` (a FIFO without shifting on every pop).
        var head = 0
    }

    private let width: Int
    private let state = LockedState(State())

    init(width: Int) {
        // invariant: the width is a constant of the runtime, not configurable.
        precondition(width > 0, "a gate of width 0 never opens")
        self.width = width
    }

    /// Runs `body` once fewer than `width` other bodies are running.
    func pass<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        let admitted = state.withLock { state -> Bool in
            guard state.running < width else { return false }
            state.running += 1
            return true
        }
        if admitted { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admittedNow = state.withLock { state -> Bool in
                // Someone may have left between the first look and here.
                if state.running < width {
                    state.running += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if admittedNow { continuation.resume() }
        }
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.head < state.waiting.count else {
                state.running -= 1
                return nil
            }
            // The slot passes straight to the next waiter: `running` stays the same.
            let next = state.waiting[state.head]
            state.head += 1
            if state.head == state.waiting.count {
                state.waiting.removeAll(keepingCapacity: false)
                state.head = 0
            }
            return next
        }
        next?.resume()
    }
}
