public import ProcmgrEngine

/// What every start awaits before it takes its place at the ``StartGate``: the agent's dependency
/// wait (the agent's `DependencyCoordinator`), set with ``ProcessRuntime/setStartPrecondition(_:)``.
///
/// A protocol, not a stored `(ProcessID) async throws -> Void` closure, for a measured reason: a
/// closure kept in a generic container (`LockedState<F?>`) is reabstracted on the way in and on
/// the way out, and with Swift 6.3 the two async reabstraction thunks around every call left
/// task-allocator slabs behind in the calling task — more the longer the start queue, so a cold
/// start of N programs peaked at O(N²) heap: 540 MB at 2,000 programs, 11.4 GB at 10,000 (the
/// kernel's OOM killer took the agent on a mass restart of 10,000). A method called through an
/// existential has no such thunk: 95 MB at 2,000. BENCHMARKS.md, "The start heap".
public protocol StartPrecondition: AnyObject, Sendable {
    /// Returns once `id` may start; throws to fail the start (a `CancellationError` when the
    /// sync awaiting it was cancelled).
    func waitUntilSatisfied(_ id: ProcessID) async throws
}

/// The runtime's reference to its ``StartPrecondition``: weak, because the precondition (the
/// agent's coordinator) reads the runtime's own facts and would otherwise keep it alive.
struct WeakStartPrecondition: Sendable {
    weak var precondition: (any StartPrecondition)?
}
