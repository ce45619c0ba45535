/// Where and how the API listens; a value type so the CLI can build it from
/// flags and config and tests can vary one field at a time.
public struct APIServerConfiguration: Sendable {
    /// Address to bind: an IP literal or `localhost`. Also decides the
    /// tokenless policy: only a loopback listener accepts mutating requests
    /// without a token (see ``MutationPolicy``).
    public var host: String
    /// 0 lets the kernel pick; learn the real port from `onServerRunning`.
    public var port: Int
    /// Bearer token required by mutating endpoints (and by `/logs` on a non-loopback listener);
    /// replaceable while the server runs.
    public var token: APIToken
    /// Largest request body accepted before answering 413.
    public var maxBodyBytes: Int
    /// Connections open at once. At the cap a new connection takes the place of the one idle the
    /// longest; if all have a request in progress it is answered 503 and closed. Every
    /// connection is a descriptor the agent's supervision (pidfds, pipes, the state file) may
    /// need: the agent derives this from its descriptor limit (``ConnectionBudget``).
    public var maxConnections: Int
    /// A connection with no request in progress for this long is closed. It also bounds how long
    /// a request head may take to arrive (a slowloris trickle never completes a head, so the
    /// connection counts as idle from its last complete response or from its start).
    public var idleTimeout: Duration
    /// How often an idle SSE stream gets a `: keep-alive` comment (one shared timer; shorter in tests).
    public var keepAliveInterval: Duration = .seconds(15)

    public init(
        host: String = "127.0.0.1", port: Int = 9464, token: String? = nil, maxBodyBytes: Int = 64 * 1024,
        maxConnections: Int = ConnectionBudget.defaultMaxConnections, idleTimeout: Duration = .seconds(30)
    ) {
        self.init(
            host: host, port: port, token: APIToken(token), maxBodyBytes: maxBodyBytes,
            maxConnections: maxConnections, idleTimeout: idleTimeout)
    }

    public init(
        host: String, port: Int, token: APIToken, maxBodyBytes: Int = 64 * 1024,
        maxConnections: Int = ConnectionBudget.defaultMaxConnections, idleTimeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
    }
}
