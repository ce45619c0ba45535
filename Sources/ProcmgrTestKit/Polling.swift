import ProcmgrSupport

/// Thrown when a test waited for something that did not happen in time: the test fails loudly,
/// saying what it waited for, instead of hanging until its time limit.
public struct PollTimeout: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// Polls `condition` until it holds; throws ``PollTimeout`` naming `what` once `timeout` (real
/// time) passed. The one polling helper of every test target, for facts that have no event to
/// wait on (a process that is not our child disappearing, /proc, another program's API).
///
/// The pause between checks starts at a millisecond and doubles up to `every`, so a fact that
/// is nearly true costs little latency and a slow one little CPU. `what` is evaluated only for
/// the failure message, so it can describe the last state seen. An error thrown by `condition`
/// ends the wait at once (a peer that died).
public func eventually(
    _ what: @autoclosure () -> String,
    timeout: Duration = .seconds(10),
    every pause: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    var delay = min(Duration.milliseconds(1), pause)
    while true {
        if try await condition() { return }
        if clock.now >= deadline { throw PollTimeout(description: "timed out after \(timeout) waiting until \(what())") }
        try await Task.sleep(for: delay)
        delay = min(delay * 2, pause)
    }
}

/// A flag raised once, awaited with a deadline (used by ``ManualClock``).
final class OneShotFlag: Sendable {
    private let state = LockedState<(raised: Bool, waiter: CheckedContinuation<Bool, Never>?)>((false, nil))

    func raise() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.raised = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
    }

    /// True once raised; false after `timeout`.
    func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                        let now = self.state.withLock { state -> Bool? in
                            if state.raised { return true }
                            if Task.isCancelled { return false }
                            state.waiter = continuation
                            return nil
                        }
                        if let now { continuation.resume(returning: now) }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
                        defer { state.waiter = nil }
                        return state.waiter
                    }
                    waiter?.resume(returning: false)
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
