/// Push-style liveness: the process reports in every `interval`; if nothing
/// arrives for `timeout` the agent treats it as hung and restarts it.
public struct HeartbeatSpec: Sendable, Hashable {
    public var interval: Duration
    public var timeout: Duration

    public init(interval: Duration = ConfigDefaults.heartbeatInterval, timeout: Duration = ConfigDefaults.heartbeatTimeout) {
        self.interval = interval
        self.timeout = timeout
    }
}
