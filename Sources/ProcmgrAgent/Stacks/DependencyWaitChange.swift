/// A start began or stopped waiting for one dependency: what ``DependencyCoordinator`` tells its
/// wait observer (the agent's `dependency_wait` events). Each wait that began ends exactly once.
public struct DependencyWaitChange: Sendable, Hashable {
    /// How a wait ended.
    public enum End: String, Sendable, Hashable, CaseIterable {
        /// Every condition held: the start goes ahead.
        case satisfied
        /// The start was cancelled (the process is being stopped, or a newer sync replaced it).
        case cancelled
        /// The process's config changed; the new one starts (and may wait) instead.
        case superseded = "config changed"
    }

    public var process: String
    public var dependency: WaitingFor
    /// nil when the wait began; how it ended otherwise.
    public var end: End?

    public var waiting: Bool { end == nil }

    public init(process: String, dependency: WaitingFor, end: End?) {
        self.process = process
        self.dependency = dependency
        self.end = end
    }
}
