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
    /// Program and arguments; may contain `${PORT}` (see `resolvedCommand`) and,
    /// when replicated, `${REPLICA}` (see `replica(_:)`).
    public var command: [String]
    /// The effective environment from the config: the `env_file` contents (in file order, a
    /// later file winning) overlaid by `env:`, which wins. The files are read when the config is
    /// loaded (`ValidationScope.schemaAndFilesystem`), so a changed file is a changed spec.
    public var env: [String: String]
    /// `user:` as written (a name or a number); `nil` = the agent's own user.
    public var user: String?
    /// `group:` as written; `nil` = the user's primary group (or the agent's, without `user`).
    public var group: String?
    /// `env_file:` paths, absolute when loaded from a file, in the order written.
    public var envFiles: [String]
    public var limits: LimitsSpec?
    public var hooks: HooksSpec?
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
    /// Restarts the process when it fails (YAML `liveness:`, or its alias `health:`).
    public var liveness: ProbeSpec?
    /// Clears `ready` when it fails.
    public var readiness: ProbeSpec?
    /// Holds liveness and readiness until it first succeeds.
    public var startup: ProbeSpec?
    public var heartbeat: HeartbeatSpec?
    public var logFile: LogFileSpec?
    /// Config ids this process waits for; a replicated id means every replica.
    public var dependsOn: [String: DependencySpec]
    /// sd_notify on (`nil` = off).
    public var notify: NotifySpec?
    /// `nil` = not replicated; N → ids `{id}.0` … `{id}.{N-1}` (see `replica(_:)`).
    public var replicas: Int?
    /// How replicas are replaced on a config change.
    public var update: UpdateSpec
    /// A cron-scheduled job (`restart: never`).
    public var schedule: ScheduleSpec?
    /// The config id this spec is a replica of; set by `replica(_:)` only.
    public var replicaOf: String?
    /// The replica's index; set by `replica(_:)` only.
    public var replicaIndex: Int?

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
        liveness: ProbeSpec? = nil,
        readiness: ProbeSpec? = nil,
        startup: ProbeSpec? = nil,
        heartbeat: HeartbeatSpec? = nil,
        logFile: LogFileSpec? = nil,
        dependsOn: [String: DependencySpec] = [:],
        notify: NotifySpec? = nil,
        replicas: Int? = nil,
        update: UpdateSpec = .default,
        schedule: ScheduleSpec? = nil,
        user: String? = nil,
        group: String? = nil,
        envFiles: [String] = [],
        limits: LimitsSpec? = nil,
        hooks: HooksSpec? = nil
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
        self.liveness = liveness
        self.readiness = readiness
        self.startup = startup
        self.heartbeat = heartbeat
        self.logFile = logFile
        self.dependsOn = dependsOn
        self.notify = notify
        self.replicas = replicas
        self.update = update
        self.schedule = schedule
        self.user = user
        self.group = group
        self.envFiles = envFiles
        self.limits = limits
        self.hooks = hooks
    }
}
