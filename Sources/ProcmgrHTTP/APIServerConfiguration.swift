/// Where and how the API listens; a value type so the CLI can build it from
/// flags and config and tests can vary one field at a time.
public struct APIServerConfiguration: Sendable {
    /// Address to bind: an IP literal or `localhost`. Also decides the
    /// tokenless policy: only a loopback listener accepts mutating requests
    /// without a token (see ``MutationPolicy``).
    public var host: String
    /// 0 lets the kernel pick; learn the real port from `onServerRunning`.
    public var port: Int
    /// Bearer token required by mutating endpoints; `nil` means none configured.
    public var token: String?
    /// Largest request body accepted before answering 413.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 9464, token: String? = nil, maxBodyBytes: Int = 64 * 1024) {
        self.host = host
        self.port = port
        self.token = token
        self.maxBodyBytes = maxBodyBytes
    }
}
