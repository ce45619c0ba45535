/// An HTTP health probe: `GET http://127.0.0.1:$PORT<path>`, where any 2xx or 3xx answer within
/// `timeout` is a success (redirects are not followed).
public struct HealthProbeSettings: Sendable, Hashable {
    /// Path and query of the request, starting with `/`.
    public var path: String
    /// Time from the start of one probe to the start of the next.
    public var interval: Duration
    /// A probe not answered in full within this is a `timeout`.
    public var timeout: Duration
    /// Consecutive failed probes that make the process unhealthy (and restart it).
    public var failureThreshold: Int
    /// Consecutive successful probes that make it healthy, at start and after a failure.
    public var successThreshold: Int
    /// Wait after the start before the first probe (slow starters).
    public var initialDelay: Duration

    public init(
        path: String, interval: Duration = .seconds(15), timeout: Duration = .seconds(2),
        failureThreshold: Int = 3, successThreshold: Int = 1, initialDelay: Duration = .zero
    ) {
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.initialDelay = initialDelay
    }
}
