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

    // health.http
    public static let healthInterval: Duration = .seconds(15)
    public static let healthTimeout: Duration = .seconds(2)
    public static let healthFailureThreshold = 3
    public static let healthSuccessThreshold = 1
    public static let healthInitialDelay: Duration = .zero

    // heartbeat
    public static let heartbeatInterval: Duration = .seconds(2)
    public static let heartbeatTimeout: Duration = .seconds(10)

    // log_file
    public static let logMaxBytes = 10 << 20
    public static let logKeep = 3
}
