/// One probe of a process (liveness, readiness or startup), with kubelet's fields: what to check
/// and how often, and how many results in a row flip its verdict.
public struct ProbeSettings: Sendable, Hashable {
    /// Which of a process's three probes: the `probe` label of the probe metrics.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Failing restarts the program (reason `liveness`).
        case liveness
        /// Failing only marks the program not ready (routes, `ready` condition).
        case readiness
        /// Holds the other two until it first succeeds; failing restarts (reason `startup`).
        case startup
    }

    /// What one check does.
    public enum Action: Sendable, Hashable {
        /// `GET http://127.0.0.1:<port><path>` with `headers`: any 2xx or 3xx within the timeout
        /// passes (redirects are not followed). `port` nil = the process's own port.
        case http(path: String, port: Int?, headers: [String: String])
        /// A TCP connect to `127.0.0.1:<port>` within the timeout passes. `port` nil = the
        /// process's own port.
        case tcp(port: Int?)
        /// argv run in the process's environment and working directory, in its own process
        /// group; exit status 0 within the timeout passes, and at the timeout the group is killed.
        case exec(command: [String])
    }

    public var action: Action
    /// Time from the start of one check to the start of the next.
    public var interval: Duration
    /// A check not finished within this is a `timeout` (a failure).
    public var timeout: Duration
    /// Consecutive failures that flip the verdict to failing.
    public var failureThreshold: Int
    /// Consecutive successes that flip it to passing (kubelet requires 1 for liveness and startup).
    public var successThreshold: Int
    /// Wait after the program started before the first check.
    public var initialDelay: Duration

    public init(
        action: Action, interval: Duration = .seconds(10), timeout: Duration = .seconds(1),
        failureThreshold: Int = 3, successThreshold: Int = 1, initialDelay: Duration = .zero
    ) {
        self.action = action
        self.interval = interval
        self.timeout = timeout
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.initialDelay = initialDelay
    }

    /// The port the action connects to, if it uses one: its own, else the process's.
    func port(processPort: Int?) -> Int? {
        switch action {
        case .http(_, let port, _), .tcp(let port): port ?? processPort
        case .exec: nil
        }
    }
}

/// The result of one check: the `result` label of `procmgr_probe_checks_total` and of
/// `procmgr_health_checks_total` (liveness).
enum ProbeResult: String, Sendable, Hashable, CaseIterable {
    case success, failure, timeout
}
