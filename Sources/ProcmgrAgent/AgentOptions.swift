import ProcmgrConfig

/// How `procmgr run` starts the agent: what the command line decides, as opposed to the config.
public struct AgentOptions: Sendable {
    public var origin: ConfigOrigin
    /// `--listen`, over the config's `agent.listen`. Port 0 lets the kernel pick one.
    public var listenHost: String?
    public var listenPort: Int?
    /// How often the config file is checked for changes (SPEC: applied within 1 s); `nil`
    /// reloads only on SIGHUP and `POST /-/reload` (for tools that write the file in several
    /// steps and signal when done).
    public var fileCheckInterval: Duration?
    /// How often finished workers that are no longer desired are purged, as a safety net:
    /// removals are purged as soon as they finish.
    public var housekeepingInterval: Duration
    /// The wall clock scheduled jobs fire on; tests inject one they move by hand.
    public var jobClock: any JobClock

    public init(
        origin: ConfigOrigin, listenHost: String? = nil, listenPort: Int? = nil,
        fileCheckInterval: Duration? = .milliseconds(250), housekeepingInterval: Duration = .seconds(60),
        jobClock: any JobClock = SystemJobClock()
    ) {
        self.origin = origin
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.fileCheckInterval = fileCheckInterval
        self.housekeepingInterval = housekeepingInterval
        self.jobClock = jobClock
    }
}
