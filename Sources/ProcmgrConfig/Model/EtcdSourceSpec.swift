public import Foundation

/// An etcd cluster the agent takes its desired processes from (`agent.etcd`, SPEC §3.6):
/// `{prefix}/nodes/{node}/processes/{id}` and `{prefix}/all/processes/{id}`, each value one
/// `processes[]` entry in JSON, merged under the local file's entries like the admin source
/// (`ConfigLoader.mergeFleet`). The agent also registers itself and its processes' status
/// under the same prefix, so `prefix` and `node` name this agent's keys.
public struct EtcdSourceSpec: Sendable, Hashable {
    /// Client URLs (`http://10.0.0.5:2379`), tried in order; `https` when `tls` is set.
    public var endpoints: [URL]
    /// Root of every key procmgr reads and writes: starts with `/`, no trailing `/`.
    public var prefix: String
    /// This agent's name in the keys; the host name unless set.
    public var node: String
    /// TTL of the lease the registration and status keys live under: how long
    /// after the agent dies the fleet stops listing it.
    public var leaseTTL: Duration
    public var username: String?
    /// File holding the password for `username` (resolved path); read by the agent, never kept in the config.
    public var passwordFile: String?
    public var tls: EtcdTLSSpec?
    /// Where the last good desired set is kept, so the agent starts with it while etcd is
    /// unreachable. Defaults to `<state_dir>/fleet-cache.json`.
    public var cacheFile: String
    /// `api_url`: the URL the agent registers for itself; `nil` lets the agent derive it from
    /// its listen address.
    public var advertiseURL: URL?

    public init(endpoints: [URL], prefix: String = ConfigDefaults.etcdPrefix, node: String,
                leaseTTL: Duration = ConfigDefaults.etcdLeaseTTL, username: String? = nil, passwordFile: String? = nil,
                tls: EtcdTLSSpec? = nil, cacheFile: String, advertiseURL: URL? = nil) {
        self.endpoints = endpoints
        self.prefix = prefix
        self.node = node
        self.leaseTTL = leaseTTL
        self.username = username
        self.passwordFile = passwordFile
        self.tls = tls
        self.cacheFile = cacheFile
        self.advertiseURL = advertiseURL
    }
}

/// `agent.etcd.tls`: PEM files (resolved paths). A CA alone verifies the server; a client
/// certificate and its key are given together or not at all.
public struct EtcdTLSSpec: Sendable, Hashable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
