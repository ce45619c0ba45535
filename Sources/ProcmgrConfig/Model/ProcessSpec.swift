/// One supervised process with every default applied.
///
/// Equality is the reconciler's change test: two specs are equal exactly when
/// their effective configuration is, so a process is restarted only when
/// something that affects it changed. Spelling does not matter (`60s` equals
/// `1m`, an omitted field equals its default, env key order is irrelevant);
/// paths compare after resolution against the config file's directory.
public struct ProcessSpec: Sendable, Hashable, Identifiable {
    /// `[A-Za-z0-9._-]{1,63}`, unique within the configuration.
    public var id: String
    /// Program and arguments; may contain `${PORT}` (see `resolvedCommand`).
    public var command: [String]
    public var env: [String: String]
    /// Absolute when loaded from a file.
    public var workingDir: String
    public var port: PortSpec
    /// Lower-cased host names routed to this process by the reverse proxy,
    /// in the order written.
    public var hostnames: [String]
    public var restart: RestartPolicy
    public var backoff: BackoffSpec
    /// Time between the stop signal and SIGKILL.
    public var gracePeriod: Duration
    public var stopSignal: StopSignal
    public var health: HealthCheckSpec?
    public var heartbeat: HeartbeatSpec?
    public var logFile: LogFileSpec?

    public init(
        id: String,
        command: [String],
        env: [String: String] = [:],
        workingDir: String = ConfigDefaults.workingDir,
        port: PortSpec = ConfigDefaults.port,
        hostnames: [String] = [],
        restart: RestartPolicy = ConfigDefaults.restart,
        backoff: BackoffSpec = .default,
        gracePeriod: Duration = ConfigDefaults.gracePeriod,
        stopSignal: StopSignal = ConfigDefaults.stopSignal,
        health: HealthCheckSpec? = nil,
        heartbeat: HeartbeatSpec? = nil,
        logFile: LogFileSpec? = nil
    ) {
        self.id = id
        self.command = command
        self.env = env
        self.workingDir = workingDir
        self.port = port
        self.hostnames = hostnames
        self.restart = restart
        self.backoff = backoff
        self.gracePeriod = gracePeriod
        self.stopSignal = stopSignal
        self.health = health
        self.heartbeat = heartbeat
        self.logFile = logFile
    }
}
