/// Which of a process's three probes a `ProbeSpec` is, with kubelet's meaning:
/// liveness failing restarts the process, readiness failing only marks it not
/// ready, and startup holds the other two until it first succeeds (failing it
/// restarts). The raw values are the config keys and the `probe` metric label.
public enum ProbeKind: String, Sendable, Hashable, CaseIterable {
    case liveness, readiness, startup

    /// Liveness and startup decide on restarts from one success, as kubelet
    /// requires; only readiness may ask for several in a row.
    public var requiresSingleSuccess: Bool { self != .readiness }
}

/// One probe: what is checked and kubelet's timing fields.
public struct ProbeSpec: Sendable, Hashable {
    /// The port an `http` or `tcp` probe connects to.
    public enum Port: Sendable, Hashable {
        /// The process's own `$PORT` (`port: auto` or omitted).
        case processPort
        case fixed(UInt16)
    }

    public enum Action: Sendable, Hashable {
        /// `GET http://127.0.0.1:<port><path>` with `headers`; any 2xx/3xx succeeds.
        case http(path: String, port: Port, headers: [String: String])
        /// A TCP connection to `127.0.0.1:<port>` that is accepted succeeds.
        case tcp(port: Port)
        /// argv run in the process's environment and working directory; exit 0 succeeds.
        case exec(command: [String])
    }

    public var action: Action
    /// Time from the start of one probe to the start of the next.
    public var interval: Duration
    /// A probe not finished within this counts as failed (`timeout`).
    public var timeout: Duration
    /// Consecutive failures that make the probe fail.
    public var failureThreshold: Int
    /// Consecutive successes that make it pass again (1 for liveness and startup).
    public var successThreshold: Int
    /// Wait after the start before the first probe.
    public var initialDelay: Duration

    public init(action: Action, interval: Duration, timeout: Duration, failureThreshold: Int = ConfigDefaults.probeFailureThreshold,
                successThreshold: Int = ConfigDefaults.probeSuccessThreshold, initialDelay: Duration = ConfigDefaults.probeInitialDelay) {
        self.action = action
        self.interval = interval
        self.timeout = timeout
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.initialDelay = initialDelay
    }

    /// A probe of `kind` with that kind's defaults: liveness keeps the timing
    /// of the former `health` block (15s/2s) so existing configs keep their
    /// meaning; readiness and startup take kubelet's (10s/1s).
    public init(_ kind: ProbeKind, action: Action) {
        switch kind {
        case .liveness:
            self.init(action: action, interval: ConfigDefaults.livenessInterval, timeout: ConfigDefaults.livenessTimeout)
        case .readiness, .startup:
            self.init(action: action, interval: ConfigDefaults.probeInterval, timeout: ConfigDefaults.probeTimeout)
        }
    }

    /// Whether it connects to the process's own `$PORT`.
    public var usesProcessPort: Bool {
        switch action {
        case .http(_, let port, _), .tcp(let port): port == .processPort
        case .exec: false
        }
    }
}
