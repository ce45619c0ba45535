/// How many connections the API may hold open, out of the agent's descriptor limit.
///
/// Every open connection is a descriptor. The agent's supervision needs descriptors too: each
/// child's output pipes or FIFOs, a heartbeat socket, a log file, the state file's
/// temporary file, health-probe connections. If idle HTTP connections could take them all, a
/// crashed child could not be restarted (`EMFILE` at spawn) and the state file not written. So the
/// API's cap is whatever is configured, but never more than the limit minus a reserve for
/// supervision, and never less than a handful (an agent with almost no descriptors should
/// still answer `/healthz`).
public struct ConnectionBudget: Sendable, Equatable {
    /// The cap when nothing else is said: room for 1,000 SSE followers (`/api/v1/events`, followed
    /// logs: each holds its connection) plus the slots kept from streams for scrapes and the JSON
    /// API (``ServerSentEventStreams``), far below the descriptor limit of any agent whose soft
    /// limit could be raised.
    public static let defaultMaxConnections = 1_280
    /// Descriptors the agent itself uses whatever it supervises: the listener, epoll and timer
    /// fds, the guardian's pipe, the state and lock files, the config watcher, logging, and slack
    /// for a state-file write and an admin poll in flight.
    public static let baseReserve = 256
    /// The floor: even a starved agent keeps a few connections for `/healthz` and `/metrics`.
    public static let minimumConnections = 16

    /// Descriptors kept for supervision.
    public let reserved: Int
    /// Connections the API may hold open.
    public let maxConnections: Int

    /// - Parameters:
    ///   - configured: the cap asked for.
    ///   - descriptorLimit: the process's soft `RLIMIT_NOFILE` (after raising it).
    ///   - reserved: descriptors kept for supervising the configured processes (the agent's
    ///     `DescriptorBudget`: the agent's own, each program's long-lived ones, a transient
    ///     spare); at least ``baseReserve``.
    public init(configured: Int, descriptorLimit: Int, reserved: Int) {
        self.reserved = max(Self.baseReserve, reserved)
        maxConnections = max(Self.minimumConnections, min(configured, descriptorLimit - self.reserved))
    }
}
