/// A snapshot of one worker, for status queries, the HTTP API and reconciliation.
/// Timestamps are Unix seconds (wall clock) because they are shown to people.
public struct ProcessStatus: Sendable, Hashable {
    public var id: ProcessID
    public var state: ProcessState
    /// Running, last sync succeeded, and the syncer's probes (if any) say healthy.
    public var healthy: Bool
    public var createdAt: Double
    public var startedAt: Double?
    public var terminatingAt: Double?
    public var terminatedAt: Double?
    public var finishedAt: Double?
    public var lastSyncAt: Double?
    /// When the delay queue will wake the worker next (resync, retry or purge).
    public var nextSyncAt: Double?
    /// Effective grace period of the termination, once terminating.
    public var gracePeriod: Duration?
    public var terminationReason: String?
    public var errorCount: Int
    public var consecutiveFailures: Int
    public var lastError: String?
    public var restartCount: Int
}

/// Counts across all workers, for `/healthz`-style summaries (the RFC's `Health()`).
public struct HealthSummary: Sendable, Hashable {
    public var total: Int
    public var byState: [ProcessState: Int]
    public var healthy: Int
    /// Workers whose last hook call failed.
    public var failing: Int
    public var processes: [ProcessStatus]
}

/// What ``ProcessManager/shutdown(gracePeriod:deadline:)`` achieved.
public struct ShutdownReport: Sendable, Hashable {
    /// Processes that reached terminated before the deadline.
    public var terminated: [ProcessID]
    /// Processes still not terminated at the deadline (their terminating hook hangs or fails).
    public var stragglers: [ProcessID]
}
