/// Every default the schema applies, in one place, so the model's initializers,
/// the validator and the documentation cannot drift apart.
public enum ConfigDefaults {
    // agent
    public static let listen = ListenAddress(host: "127.0.0.1", port: 9464)
    public static let portRange = PortRange(validLower: 30000, upper: 31000)
    public static let shutdownGracePeriod: Duration = .seconds(30)
    public static let orphans: OrphanPolicy = .kill
    public static let logChildOutput = true
    public static let stateDir = "./.procmgr"
    public static let adminPollInterval: Duration = .seconds(5)
    /// File name of the admin cache inside `state_dir` when `cache_file` is not set.
    public static let adminCacheFileName = "admin-cache.json"
    /// Root of procmgr's keys in etcd (`agent.etcd.prefix`).
    public static let etcdPrefix = "/procmgr"
    /// TTL of the lease the agent's registration and status keys live under.
    public static let etcdLeaseTTL: Duration = .seconds(10)
    /// File name of the fleet cache inside `state_dir` when `agent.etcd.cache_file` is not set.
    public static let fleetCacheFileName = "fleet-cache.json"

    // processes
    public static let workingDir = "."
    public static let port: PortSpec = .none
    public static let restart: RestartPolicy = .always
    public static let gracePeriod: Duration = .seconds(10)
    public static let stopSignal: StopSignal = .term

    // backoff
    public static let backoffInitial: Duration = .seconds(1)
    public static let backoffMax: Duration = .seconds(60)
    public static let backoffMultiplier = 2.0
    public static let backoffJitter = 0.25
    public static let backoffResetAfter: Duration = .seconds(60)

    // probes: liveness keeps the former `health` timing; readiness and startup take kubelet's
    public static let livenessInterval: Duration = .seconds(15)
    public static let livenessTimeout: Duration = .seconds(2)
    public static let probeInterval: Duration = .seconds(10)
    public static let probeTimeout: Duration = .seconds(1)
    public static let probeFailureThreshold = 3
    public static let probeSuccessThreshold = 1
    public static let probeInitialDelay: Duration = .zero

    // service stacks
    public static let dependencyCondition: DependencyCondition = .started
    public static let notifyAccess: NotifyAccess = .all
    public static let maxUnavailable = 1
    public static let maxReplicas = 1000
    public static let timeZone = "UTC"
    public static let concurrency: JobConcurrency = .forbid

    // execution context
    public static let hookTimeout: Duration = .seconds(30)

    // heartbeat
    public static let heartbeatInterval: Duration = .seconds(2)
    public static let heartbeatTimeout: Duration = .seconds(10)

    // log_file
    public static let logMaxBytes = 10 << 20
    public static let logKeep = 3
}
