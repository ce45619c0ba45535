/// One process as the status API shows it.
///
/// Field names are pinned (snake_case, see the README's HTTP contract):
/// `procmgr status`, dashboards and outside checks parse them. Absent values
/// are encoded as an explicit `null` rather than left out, so a client can
/// tell "not started yet" from "field renamed".
public struct ProcessView: Codable, Sendable, Hashable {
    public var id: String
    /// Lifecycle state: starting, running, terminating, terminated or finished. A scheduled job
    /// between runs, and before its first, is `finished` (nothing runs, nothing is pending but the
    /// next fire, which `next_run_at` gives).
    public var state: String
    public var pid: Int32?
    public var port: Int?
    public var healthy: Bool
    /// Running, past its startup probe, its readiness probe passing (and READY=1 seen, with
    /// notify): what routes and the `ready` dependency condition go by.
    public var ready: Bool
    public var restarts: Int
    public var lastError: String?
    /// How the last run ended, e.g. `exit status 1` or `signal 9`.
    public var lastExit: String?
    /// Unix seconds.
    public var createdAt: Double
    /// Unix seconds of the current run's start.
    public var startedAt: Double?
    /// Unix seconds at which termination began.
    public var terminatingAt: Double?
    /// Unix seconds at which a backed-off restart is due.
    public var nextRestartAt: Double?
    /// Last heartbeat round trip.
    public var heartbeatLatencySeconds: Double?
    public var hostnames: [String]
    /// What the program last reported with sd_notify `STATUS=` (`notify:` processes).
    public var status: String?
    /// The dependencies a start waits for (`depends_on` conditions not met yet); empty when the
    /// process is not waiting.
    public var waitingFor: [WaitingForView]
    /// The config id of the replicated process this is a replica of (`web` for `web.2`).
    public var replicaOf: String?
    /// Unix seconds of a scheduled job's next run.
    public var nextRunAt: Double?
    /// CPU seconds used by the program's process group, carried across restarts (the value of
    /// `procmgr_child_cpu_seconds_total`, sampled when asked); `null` while no program runs.
    public var cpuSeconds: Double?
    /// Resident memory of the program's process group in bytes (as
    /// `procmgr_child_resident_memory_bytes`); `null` while no program runs.
    public var memoryBytes: UInt64?

    public init(
        id: String, state: String, pid: Int32? = nil, port: Int? = nil, healthy: Bool = false, ready: Bool = false,
        restarts: Int = 0, lastError: String? = nil, lastExit: String? = nil, createdAt: Double,
        startedAt: Double? = nil, terminatingAt: Double? = nil, nextRestartAt: Double? = nil,
        heartbeatLatencySeconds: Double? = nil, hostnames: [String] = [], status: String? = nil, waitingFor: [WaitingForView] = [],
        replicaOf: String? = nil, nextRunAt: Double? = nil, cpuSeconds: Double? = nil, memoryBytes: UInt64? = nil
    ) {
        self.id = id
        self.state = state
        self.pid = pid
        self.port = port
        self.healthy = healthy
        self.ready = ready
        self.restarts = restarts
        self.lastError = lastError
        self.lastExit = lastExit
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.terminatingAt = terminatingAt
        self.nextRestartAt = nextRestartAt
        self.heartbeatLatencySeconds = heartbeatLatencySeconds
        self.hostnames = hostnames
        self.status = status
        self.waitingFor = waitingFor
        self.replicaOf = replicaOf
        self.nextRunAt = nextRunAt
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
    }

    enum CodingKeys: String, CodingKey {
        case id, state, pid, port, healthy, ready, restarts
        case lastError = "last_error"
        case lastExit = "last_exit"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case terminatingAt = "terminating_at"
        case nextRestartAt = "next_restart_at"
        case heartbeatLatencySeconds = "heartbeat_latency_seconds"
        case hostnames, status
        case waitingFor = "waiting_for"
        case replicaOf = "replica_of"
        case nextRunAt = "next_run_at"
        case cpuSeconds = "cpu_seconds"
        case memoryBytes = "memory_bytes"
    }

    /// Written out by hand only because the synthesized encoder omits `nil`
    /// optionals; the contract wants them present as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(state, forKey: .state)
        try container.encode(pid, forKey: .pid)
        try container.encode(port, forKey: .port)
        try container.encode(healthy, forKey: .healthy)
        try container.encode(ready, forKey: .ready)
        try container.encode(restarts, forKey: .restarts)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(lastExit, forKey: .lastExit)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(terminatingAt, forKey: .terminatingAt)
        try container.encode(nextRestartAt, forKey: .nextRestartAt)
        try container.encode(heartbeatLatencySeconds, forKey: .heartbeatLatencySeconds)
        try container.encode(hostnames, forKey: .hostnames)
        try container.encode(status, forKey: .status)
        try container.encode(waitingFor, forKey: .waitingFor)
        try container.encode(replicaOf, forKey: .replicaOf)
        try container.encode(nextRunAt, forKey: .nextRunAt)
        try container.encode(cpuSeconds, forKey: .cpuSeconds)
        try container.encode(memoryBytes, forKey: .memoryBytes)
    }
}

/// One dependency a waiting start is blocked on: `{"id": "db", "condition": "healthy", "since": 1765000000.5}`.
public struct WaitingForView: Codable, Sendable, Hashable {
    /// The config id depended on.
    public var id: String
    /// `started`, `running`, `ready`, `healthy` or `completed_successfully`.
    public var condition: String
    /// Unix seconds at which the start began waiting for it.
    public var since: Double

    public init(id: String, condition: String, since: Double) {
        self.id = id
        self.condition = condition
        self.since = since
    }
}
