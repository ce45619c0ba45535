/// A program the runtime started and has not yet seen stopped.
/// Immutable, and a class so that ``RuntimeInstance`` (a dictionary value, copied in and out of
/// the lock on every sync) stays small: inline, the config made each instance ~1 KiB.
final class RunningChild: Sendable {
    let spawned: SpawnedProcess
    /// The config it was started with (a different desired config means a restart).
    let config: ManagedProcess
    let startedAt: ContinuousClock.Instant
    let heartbeat: HeartbeatChannel?
    /// Its output FIFOs (`orphans: adopt`), removed once its group is gone.
    let adoptableOutput: AdoptableOutput?

    init(spawned: SpawnedProcess, config: ManagedProcess, startedAt: ContinuousClock.Instant, heartbeat: HeartbeatChannel?, adoptableOutput: AdoptableOutput?) {
        self.spawned = spawned
        self.config = config
        self.startedAt = startedAt
        self.heartbeat = heartbeat
        self.adoptableOutput = adoptableOutput
    }

    /// Since when the program counts as running well, for the backoff reset: its start, or with
    /// a health probe the moment its probe last passed (`nil` while not healthy).
    func stableSince(healthySince: ContinuousClock.Instant?) -> ContinuousClock.Instant? {
        config.health == nil ? startedAt : healthySince
    }
}

/// The runtime's record of one managed process, across restarts of its program.
struct RuntimeInstance: Sendable {
    var child: RunningChild?
    /// Held from the first start until the worker is terminated, so restarts keep their port.
    var port: Int?
    /// Exits since the program last ran for `resetAfter`; drives the restart backoff.
    var failuresInRow = 0
    var restarts = 0
    var lastExit: ProcessExitStatus?
    /// Not before this may the program be started again.
    var nextStartAt: ContinuousClock.Instant?
    /// The restart delays chosen after the most recent exits (at most 16), newest last.
    var restartDelays: [Duration] = []
    /// When the current child's health probe last turned healthy; `nil` before and after.
    var healthySince: ContinuousClock.Instant?
    /// Set by a health or heartbeat failure or a manual restart; the next sync restarts for this reason.
    var pendingRestartReason: String?
    var output: OutputCaptureHandle?
    /// What the program printed, across restarts; kept after it stopped, for the logs API.
    var recent: RecentLines?
    /// The worker was terminated: only the logs are kept (see `ProcessRuntime.retainedLogs`).
    var terminated = false
    /// CPU seconds of earlier children, and the latest sample of the current one.
    var accumulatedCPUSeconds = 0.0
    var lastCPUSample = 0.0

    var snapshot: RuntimeSnapshot {
        RuntimeSnapshot(
            pid: child?.spawned.pid, port: port, restarts: restarts, lastExit: lastExit.map { "\($0)" },
            nextStartAt: nextStartAt, restartDelays: restartDelays, heartbeatLatency: child?.heartbeat?.lastLatency,
            programStartedAt: child?.startedAt)
    }
}

/// What the API shows about a process's program.
public struct RuntimeSnapshot: Sendable, Hashable {
    public var pid: Int32?
    public var port: Int?
    public var restarts: Int
    public var lastExit: String?
    public var nextStartAt: ContinuousClock.Instant?
    /// The backoff delays chosen after the most recent exits, newest last.
    public var restartDelays: [Duration]
    public var heartbeatLatency: Duration?
    /// When the current program started (or was adopted): its uptime, across restarts.
    public var programStartedAt: ContinuousClock.Instant?
}
