import Glibc

/// A program the runtime started and has not yet seen stopped.
/// Immutable, and a class so that ``RuntimeInstance`` (a dictionary value) stays small: inline,
/// the config made each instance ~1 KiB.
final class RunningChild: Sendable {
    let spawned: SpawnedProcess
    /// The config it was started with (a different desired config means a restart).
    let config: ManagedProcess
    let startedAt: ContinuousClock.Instant
    let heartbeat: HeartbeatChannel?
    /// Its output FIFOs (`orphans: adopt`), removed once its group is gone.
    let adoptableOutput: AdoptableOutput?
    /// Its NOTIFY_SOCKET (`notify:`), closed once its group is gone.
    let notify: NotifySocket?
    /// The process's cgroup the program runs in (`nil` on the process-group fallback).
    let cgroup: ProcessCgroup?
    /// The cgroup's OOM kill count when the program started (read before the spawn: a program
    /// that runs out of memory at once can be killed before the spawn has returned): a higher
    /// count at a SIGKILL exit means the kernel's OOM killer ended it.
    let oomKillsAtStart: UInt64

    init(
        spawned: SpawnedProcess, config: ManagedProcess, startedAt: ContinuousClock.Instant, heartbeat: HeartbeatChannel?,
        adoptableOutput: AdoptableOutput?, notify: NotifySocket? = nil, cgroup: ProcessCgroup? = nil,
        oomKillsAtStart: UInt64
    ) {
        self.spawned = spawned
        self.config = config
        self.startedAt = startedAt
        self.heartbeat = heartbeat
        self.adoptableOutput = adoptableOutput
        self.notify = notify
        self.cgroup = cgroup
        self.oomKillsAtStart = oomKillsAtStart
    }

    /// Whether `status` (this program's exit) is the OOM killer's doing: a SIGKILL while the
    /// cgroup's OOM kill count rose (the kernel counts the kill before it sends the signal).
    func killedByOOM(_ status: ProcessExitStatus) -> Bool {
        guard case .signaled(SIGKILL, _) = status, let cgroup else { return false }
        return (cgroup.oomKills() ?? 0) > oomKillsAtStart
    }
}

/// The runtime's record of one managed process, across restarts of its program.
///
/// Lives in ``ProcessRuntime``'s lock and is only ever changed there, field by field, at the
/// point of change: a sync never copies it out, awaits and writes the copy back (that lost
/// whatever the heartbeat monitor, the health probe or the resource sampler wrote meanwhile).
struct RuntimeInstance: Sendable {
    var child: RunningChild?
    /// Held from the first start until the worker is terminated, so restarts keep their port.
    var port: Int?
    /// Restarts, backoff, pending restart requests: the policy's own state.
    var policy = RestartStateMachine<ContinuousClock.Instant>()
    var lastExit: ProcessExitStatus?
    var output: OutputCaptureHandle?
    /// What the program printed, across restarts; kept after it stopped, for the logs API.
    var recent: RecentLines?
    /// The program's lines as they go to the agent's own log (escaped, rate-limited), across
    /// restarts; `nil` when child output is not logged.
    var outputLog: ChildOutputLog?
    /// The worker was terminated: only the logs are kept (see `ProcessRuntime.retainedLogs`).
    var terminated = false
    /// CPU seconds of earlier children, and the latest sample of the current one.
    var accumulatedCPUSeconds = 0.0
    var lastCPUSample = 0.0
    /// The latest resource sample (background sampler, or a status request), which scrapes
    /// serve; kept across restarts of the program (its age says how old it is).
    var resourceSample: ResourceSample?
    /// The current child's probe verdicts; `nil` while no child runs.
    var probes: ProbeVerdict?
    /// READY=1 seen from the current child: `nil` = notify is off (only readiness counts).
    var notifyReady: Bool?
    /// The conditions last reported through `conditionsChanged`, so only flips are reported.
    var reportedConditions: ProcessConditions?
    /// The process's cgroup: made at its first start and kept across restarts (its CPU usage
    /// then counts every program), removed when the worker is terminated.
    var cgroup: ProcessCgroup?
    /// Watches the cgroup for the OOM killer; cancelled with it.
    var oomWatch: CgroupOOMWatch?
    /// The cgroup's OOM kills already counted into `procmgr_oom_kills_total`.
    var oomKillsCounted: UInt64 = 0
    /// The last program was ended by the OOM killer.
    var lastExitOOM = false

    var conditions: ProcessConditions {
        let running = child != nil
        let probes = probes ?? ProbeVerdict(liveness: nil, readiness: nil, startup: nil)
        return ProcessConditions(
            programRunning: running,
            startupPassed: running && probes.startupPassed,
            ready: running && probes.startupPassed && probes.ready && (notifyReady ?? true),
            healthy: running && probes.healthy,
            lastExitSucceeded: lastExit.map(\.isSuccess))
    }

    var snapshot: RuntimeSnapshot {
        let conditions = conditions
        return RuntimeSnapshot(
            pid: child?.spawned.pid, port: port, restarts: policy.restarts,
            lastExit: lastExit.map { lastExitOOM ? "\($0): out of memory (the OOM killer, limits.memory)" : "\($0)" },
            nextStartAt: policy.nextStartAt, restartDelays: policy.restartDelays, heartbeatLatency: child?.heartbeat?.lastLatency,
            programStartedAt: child?.startedAt, ready: conditions.ready,
            notifyStatus: child?.notify?.status, notifyReady: notifyReady)
    }
}

/// One sample of a process's CPU and memory, and when it was taken.
struct ResourceSample: Sendable {
    var usage: ProgramResourceUsage
    var takenAt: ContinuousClock.Instant
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
    /// Running, past its startup probe, its readiness probe passing and (notify) READY=1 seen.
    public var ready: Bool
    /// The program's last sd_notify `STATUS=`.
    public var notifyStatus: String?
    /// Whether the current program sent sd_notify `READY=1` (nil without `notify:`).
    public var notifyReady: Bool?
}
