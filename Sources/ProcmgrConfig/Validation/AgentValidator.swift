import Foundation

/// Checks the `agent:` block and builds `AgentSettings` with defaults applied
/// and paths resolved against the config file's directory.
struct AgentValidator {
    static let keys = ["listen", "ports", "shutdown_grace_period", "orphans", "state_dir", "token_file", "admin", "etcd", "log_child_output"]

    let baseDirectory: String?
    /// The machine's host name, the default `agent.etcd.node`; injected so tests can try bad ones.
    let hostName: () -> String?

    init(baseDirectory: String?, hostName: @escaping () -> String? = HostName.current) {
        self.baseDirectory = baseDirectory
        self.hostName = hostName
    }

    /// `nil` when the block has problems; defaults when `node` is `nil`.
    func validate(_ node: ConfigNode?, problems: inout Problems) -> AgentSettings? {
        guard let node else { return defaults() }
        let before = problems.count
        guard let fields = Fields(node, allowed: Self.keys, problems: &problems) else { return nil }
        var settings = AgentSettings()

        if let listen = fields["listen"] {
            if let text = problems.string(listen) {
                if let address = ListenAddress(parsing: text) {
                    settings.listen = address
                } else {
                    problems.add(listen, "\(listen) is not a listen address (host:port, IPv6 as [::1]:9464)")
                }
            }
        }
        if let ports = fields["ports"], let portFields = Fields(ports, allowed: ["range"], problems: &problems),
           let range = portFields["range"] {
            if let text = problems.string(range) {
                if let parsed = PortRange(parsing: text) {
                    settings.portRange = parsed
                } else {
                    problems.add(range, "\(range) is not a port range (low-high, 1-65535, low ≤ high)")
                }
            }
        }
        if let value = fields["shutdown_grace_period"].flatMap({ problems.duration($0) }) {
            settings.shutdownGracePeriod = value
        }
        if let value = fields["orphans"].flatMap({ problems.choice($0, OrphanPolicy.allCases.map { ($0.rawValue, $0) }) }) {
            settings.orphans = value
        }
        settings.stateDir = resolve(fields["state_dir"].flatMap { problems.pathString($0) } ?? ConfigDefaults.stateDir)
        settings.tokenFile = fields["token_file"].flatMap { problems.pathString($0) }.map(resolve)
        if let node = fields["log_child_output"] {
            if case .bool(let value) = node.value {
                settings.logChildOutput = value
            } else {
                problems.add(node, "expected true or false, got \(node.kindDescription)")
            }
        }
        if let admin = fields["admin"] {
            settings.admin = self.admin(admin, stateDir: settings.stateDir, problems: &problems)
        }
        if let etcd = fields["etcd"] {
            if fields["admin"] != nil {
                problems.add(etcd, "agent.admin is also set, but only one desired-state source may be set: remove agent.admin or agent.etcd")
            } else {
                settings.etcd = self.etcd(etcd, stateDir: settings.stateDir, problems: &problems)
            }
        }
        return problems.count == before ? settings : nil
    }

    private func defaults() -> AgentSettings {
        AgentSettings(stateDir: resolve(ConfigDefaults.stateDir))
    }

    private func admin(_ node: ConfigNode, stateDir: String, problems: inout Problems) -> AdminSourceSpec? {
        guard let fields = Fields(node, allowed: ["url", "token_file", "poll_interval", "cache_file"], problems: &problems)
        else { return nil }
        let url = fields.required("url", enforce: true, problems: &problems).flatMap { problems.httpURL($0) }
        let tokenFile = fields["token_file"].flatMap { problems.pathString($0) }.map(resolve)
        let pollInterval = fields["poll_interval"].flatMap { problems.duration($0) } ?? ConfigDefaults.adminPollInterval
        let cacheFile = fields["cache_file"].flatMap { problems.pathString($0) }.map(resolve)
            ?? PathResolver.normalize(stateDir + "/" + ConfigDefaults.adminCacheFileName)
        guard let url else { return nil }
        return AdminSourceSpec(url: url, tokenFile: tokenFile, pollInterval: pollInterval, cacheFile: cacheFile)
    }

    func resolve(_ path: String) -> String {
        PathResolver.resolve(path, against: baseDirectory)
    }
}
