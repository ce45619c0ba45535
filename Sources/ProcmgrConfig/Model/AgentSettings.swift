/// The `agent:` block: how the agent itself runs. Every field has a default
/// (see `ConfigDefaults`), so a file with only `processes:` is complete.
public struct AgentSettings: Sendable, Hashable {
    public var listen: ListenAddress
    /// Range for `port: auto` allocations (`agent.ports.range`).
    public var portRange: PortRange
    /// How long a whole-agent shutdown waits for processes before killing them.
    public var shutdownGracePeriod: Duration
    public var orphans: OrphanPolicy
    /// Directory for pid/state files; absolute when loaded from a file.
    public var stateDir: String
    /// File holding the bearer token required by mutating API calls; `nil`
    /// means the API is not token-protected.
    public var tokenFile: String?
    /// Where processes come from besides the local file, if anywhere.
    public var admin: AdminSourceSpec?
    /// The etcd cluster processes come from; never set together with `admin`.
    public var etcd: EtcdSourceSpec?
    /// Whether the children's output lines are also copied (escaped and rate-limited) into the
    /// agent's own log; the logs API and `log_file` keep them either way.
    public var logChildOutput: Bool

    public init(
        listen: ListenAddress = ConfigDefaults.listen,
        portRange: PortRange = ConfigDefaults.portRange,
        shutdownGracePeriod: Duration = ConfigDefaults.shutdownGracePeriod,
        orphans: OrphanPolicy = ConfigDefaults.orphans,
        stateDir: String = ConfigDefaults.stateDir,
        tokenFile: String? = nil,
        admin: AdminSourceSpec? = nil,
        etcd: EtcdSourceSpec? = nil,
        logChildOutput: Bool = ConfigDefaults.logChildOutput
    ) {
        self.listen = listen
        self.portRange = portRange
        self.shutdownGracePeriod = shutdownGracePeriod
        self.orphans = orphans
        self.stateDir = stateDir
        self.tokenFile = tokenFile
        self.admin = admin
        self.etcd = etcd
        self.logChildOutput = logChildOutput
    }
}
