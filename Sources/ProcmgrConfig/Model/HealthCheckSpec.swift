/// A readiness/liveness probe run against a process. Only HTTP probes exist
/// today; `Probe` is an enum so TCP or exec probes can be added without
/// changing the timing fields.
public struct HealthCheckSpec: Sendable, Hashable {
    public enum Probe: Sendable, Hashable {
        /// `GET http://127.0.0.1:<port><path>`; any 2xx/3xx counts as healthy.
        case http(path: String)
    }

    public var probe: Probe
    public var interval: Duration
    public var timeout: Duration
    /// Consecutive failures before the process counts as unhealthy.
    public var failureThreshold: Int
    /// Consecutive successes before it counts as healthy again.
    public var successThreshold: Int
    /// Wait after start before the first probe.
    public var initialDelay: Duration

    public init(
        probe: Probe,
        interval: Duration = ConfigDefaults.healthInterval,
        timeout: Duration = ConfigDefaults.healthTimeout,
        failureThreshold: Int = ConfigDefaults.healthFailureThreshold,
        successThreshold: Int = ConfigDefaults.healthSuccessThreshold,
        initialDelay: Duration = ConfigDefaults.healthInitialDelay
    ) {
        self.probe = probe
        self.interval = interval
        self.timeout = timeout
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.initialDelay = initialDelay
    }
}
