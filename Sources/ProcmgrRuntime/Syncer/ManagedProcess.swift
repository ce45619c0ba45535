public import ProcmgrEngine

/// Everything the runtime needs to run one program: the runtime's own view of a process's
/// config, built by the agent from its declarative config (the runtime depends on no config
/// format). Equal values mean "nothing to restart".
public struct ManagedProcess: ProcessConfiguration, Hashable {
    /// argv; `${PORT}` in an argument is replaced by the assigned port.
    public var command: [String]
    /// The full environment of the child (the agent overlays the config's `env` on its own).
    public var environment: [String: String]
    public var workingDirectory: String?
    public var port: PortRequest
    public var restart: RestartPolicy
    public var backoff: RestartBackoff
    public var terminationGracePeriod: Duration
    public var stopSignal: Int32
    public var heartbeat: HeartbeatSettings?
    /// Failing restarts the program (reason `liveness`); `nil` means healthy while running.
    public var liveness: ProbeSettings?
    /// Failing marks the program not ready; `nil` means ready while running (and past startup).
    public var readiness: ProbeSettings?
    /// Holds liveness and readiness until it first passes; failing restarts (reason `startup`).
    public var startup: ProbeSettings?
    /// Lines kept for the API, the longest line, and an optional rotated file.
    public var output: OutputCapture.Configuration
    /// sd_notify: a NOTIFY_SOCKET for the child, `READY=1`, `STATUS=`, the watchdog.
    public var notify: NotifySettings?
    /// User, limits, hooks: the context the program (and its hooks) run in.
    public var execution: ExecutionContext

    public init(
        command: [String],
        environment: [String: String] = ProcessEnvironment.current(),
        workingDirectory: String? = nil,
        port: PortRequest = .none,
        restart: RestartPolicy = .always,
        backoff: RestartBackoff = RestartBackoff(),
        terminationGracePeriod: Duration = .seconds(10),
        stopSignal: Int32 = ProcessSignal.term,
        heartbeat: HeartbeatSettings? = nil,
        liveness: ProbeSettings? = nil,
        readiness: ProbeSettings? = nil,
        startup: ProbeSettings? = nil,
        output: OutputCapture.Configuration = OutputCapture.Configuration(),
        notify: NotifySettings? = nil,
        execution: ExecutionContext = ExecutionContext()
    ) {
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.port = port
        self.restart = restart
        self.backoff = backoff
        self.terminationGracePeriod = terminationGracePeriod
        self.stopSignal = stopSignal
        self.heartbeat = heartbeat
        self.liveness = liveness
        self.readiness = readiness
        self.startup = startup
        self.output = output
        self.notify = notify
        self.execution = execution
    }

    /// The arguments with `${PORT}` substituted (`$${` stays a literal `${`).
    func resolvedArguments(port: Int?) -> [String] {
        guard let port else { return command }
        return command.map { argument in
            argument.replacing("$${", with: "\u{0}").replacing("${PORT}", with: "\(port)").replacing("\u{0}", with: "${")
        }
    }
}

/// Which port a process gets.
public enum PortRequest: Sendable, Hashable {
    case none
    /// The next free port of the agent's range, checked by a real bind.
    case auto
    case fixed(Int)
}

/// When an exited process is started again.
public enum RestartPolicy: String, Sendable, Hashable {
    case always
    /// Only after a non-zero exit or a death by signal.
    case onFailure = "on-failure"
    /// Never: the first exit ends the worker (a terminal sync result).
    case never
}

/// Exponential restart backoff with jitter, reset after the process ran healthily long enough.
public struct RestartBackoff: Sendable, Hashable {
    public var delays: Backoff
    /// A process that ran this long has its failure count reset: its next crash restarts fast.
    public var resetAfter: Duration

    public init(delays: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(60), multiplier: 2, jitter: 0.25), resetAfter: Duration = .seconds(60)) {
        self.delays = delays
        self.resetAfter = resetAfter
    }
}

/// The agent ↔ child heartbeat (PING/PONG over an inherited socket).
public struct HeartbeatSettings: Sendable, Hashable {
    public var interval: Duration
    public var timeout: Duration

    public init(interval: Duration = .seconds(2), timeout: Duration = .seconds(10)) {
        self.interval = interval
        self.timeout = timeout
    }
}
