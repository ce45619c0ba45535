/// Tunables of a ``ProcessManager``. The defaults follow kubelet's pod workers, scaled for processes.
public struct EngineConfiguration: Sendable {
    /// How often a healthy worker is synced again when the syncer asks for nothing else.
    public var resyncInterval: Duration = .seconds(30)
    /// Extra fraction of ``resyncInterval`` added at random (kubelet's `wait.Jitter(d, 0.5)`), so
    /// processes created together do not resync together forever.
    public var resyncJitter: Double = 0.5
    /// Retry delay after a ``TransientSyncError``, jittered like the resync.
    public var transientRetryInterval: Duration = .seconds(1)
    /// Backoff after any other sync error, and after failed terminating/terminated hooks.
    public var errorBackoff: Backoff = Backoff()
    /// How long a finished worker's record stays queryable before it is purged without a
    /// ``ProcessManager/syncKnownProcesses(_:)`` call. Bounds memory under churn.
    public var finishedRetention: Duration = .seconds(300)
    /// Source of randomness in `0..<1` for jitter; injected so tests are deterministic.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    /// Wall-clock time in seconds since the Unix epoch, used only for timestamps shown to people
    /// (status, `procmgr_process_terminating_since_seconds`); all durations use the injected clock.
    public var wallClock: @Sendable () -> Double = { WallClock.now() }

    public init() {}
}
