import ProcmgrSupport

/// Runs `work` to completion in its own task but lets the caller stop *waiting* for it when the
/// caller is cancelled.
///
/// Why: a group stop must finish whatever happens (a half-stopped group is worse than none), but
/// the engine cancels a terminating hook when the grace period shrinks and calls it again with
/// the shorter one — which joins the same stop and pulls its SIGKILL earlier. The hook must
/// therefore return at once on cancellation while the stop goes on; the next call awaits it.
func waitCancellably<T: Sendable>(for work: @escaping @Sendable () async -> T) async throws -> T {
    let slot = LockedState<(result: T?, waiter: CheckedContinuation<T?, Never>?)>((nil, nil))
    Task {
        let result = await work()
        let waiter = slot.withLock { state -> CheckedContinuation<T?, Never>? in
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }
    let result = await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let ready = slot.withLock { state -> T?? in
                if let result = state.result { return .some(result) }
                if Task.isCancelled { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    } onCancel: {
        let waiter = slot.withLock { state -> CheckedContinuation<T?, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
    guard let result else { throw CancellationError() }
    return result
}
