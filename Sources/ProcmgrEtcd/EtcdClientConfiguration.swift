public import Foundation

/// Where and how to reach an etcd cluster: its client URLs, optional credentials and TLS files,
/// and the time limits of unary calls.
public struct EtcdClientConfiguration: Sendable, Hashable {
    /// Client URLs (`http://host:2379`, `https://…` with ``tls``); unary calls fail over among them.
    public var endpoints: [URL]
    public var username: String?
    /// The password itself (the caller read it from its password file).
    public var password: String?
    public var tls: EtcdTLSFiles?
    /// The limit of one unary call on one endpoint (a failover may spend it once per endpoint).
    public var requestTimeout: Duration
    /// The limit of establishing one connection; a refused connection fails at once.
    public var connectTimeout: Duration

    public init(
        endpoints: [URL], username: String? = nil, password: String? = nil, tls: EtcdTLSFiles? = nil,
        requestTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(1)
    ) {
        self.endpoints = endpoints
        self.username = username
        self.password = password
        self.tls = tls
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
    }
}

/// PEM files for TLS to etcd: a CA to trust instead of the system's, and a client certificate
/// with its key for etcd's `--client-cert-auth`.
public struct EtcdTLSFiles: Sendable, Hashable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
