import ProcmgrSupport

/// A one-waiter wake-up bell that remembers a ring nobody was waiting for.
///
/// Each worker sleeps on its own signal between hook calls; updates, termination requests and the
/// delay queue ring it. A ring while the worker is busy is kept (at most one), so an update that
/// arrives mid-sync is never lost, and many rings collapse into one wake-up — which is how
/// intermediate updates get skipped. Waiting is cancellation-aware so teardown never hangs.
public final class WakeSignal: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = LockedState(State())

    public init(rung: Bool = false) {
        state.withLock { $0.rung = rung }
    }

    public func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after the next ring (at once if one is remembered), or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // Task.isCancelled is set before cancellation handlers run, so checking it under
                    // the lock closes the window where the handler ran before the waiter was stored.
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    // invariant: only the worker that owns this signal waits on it (never input).
                    precondition(state.waiter == nil, "WakeSignal has a single waiter")
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
