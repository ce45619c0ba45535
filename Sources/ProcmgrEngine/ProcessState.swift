/// Identifies one managed process. Unique within a ``ProcessManager`` until the worker is purged;
/// after that the same id may be created again.
public typealias ProcessID = String

/// Where a worker is in its one-way lifecycle.
///
/// The order is the order of the lifecycle and is never walked backwards: a worker that reached
/// ``terminating`` never returns to ``running``. Comparisons (`state >= .terminated`) are therefore
/// meaningful and are how waiters decide whether a state was reached.
public enum ProcessState: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Created; no sync has succeeded yet.
    case starting
    /// At least one sync succeeded and no termination was requested.
    case running
    /// Termination requested; the terminating hook has not succeeded yet.
    case terminating
    /// The terminating hook succeeded (the process is stopped); the terminated hook has not.
    case terminated
    /// Every hook has succeeded. The worker is gone and its record waits to be purged.
    case finished

    public static func < (lhs: ProcessState, rhs: ProcessState) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The label value used in metrics and the HTTP API.
    public var description: String {
        switch self {
        case .starting: "starting"
        case .running: "running"
        case .terminating: "terminating"
        case .terminated: "terminated"
        case .finished: "finished"
        }
    }
}

/// Why the syncer is being called, so it can tell a first start from a config change or a resync.
public enum UpdateType: Sendable, Hashable, CustomStringConvertible {
    /// The first sync of a new worker.
    case create
    /// The config changed.
    case update
    /// A periodic or requested resync with the current config.
    case sync

    public var description: String {
        switch self {
        case .create: "create"
        case .update: "update"
        case .sync: "sync"
        }
    }
}

/// Time inside the engine: the `Duration` since the engine's origin on its injected clock.
/// A concrete type, so the engine's bookkeeping is not generic over the clock.
typealias EngineTime = Duration
