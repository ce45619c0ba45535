public import ProcmgrSupport

/// What the HTTP API needs from the agent.
///
/// The server owns no process state: every answer comes from here, so the
/// same API can sit in front of the real agent, a test double or a benchmark's
/// synthetic backend. Lookups that can miss return an optional (`nil` = unknown
/// id) rather than throwing, because a miss is an ordinary answer (404), not a
/// failure; actions throw ``AgentActionError`` so each failure maps to one status.
public protocol AgentBackend: Sendable {
    /// Config loaded and first reconcile done; drives `/readyz`.
    var isReady: Bool { get }

    /// Why `/readyz` answers 503, or `nil` when the agent is ready. Beyond ``isReady`` an agent
    /// reports what it cannot guarantee right now (its orphan guard is down).
    var readinessProblem: String? { get }

    /// Appends the Prometheus text format 0.0.4 exposition to `buffer`.
    ///
    /// Synchronous and buffer-based on purpose: the server hands in a buffer it
    /// reuses across scrapes, so a scrape allocates nothing once warmed up.
    func writeMetrics(into buffer: inout [UInt8])

    /// Every managed process, in a stable order.
    func processes() async -> [ProcessView]

    /// One process, or `nil` if no process has this id.
    func process(id: String) async -> ProcessView?

    /// The last `tail` output lines (oldest first), or `nil` for an unknown id.
    func logs(id: String, tail: Int) async -> [LogLineView]?

    /// Restarts one process.
    func restart(id: String) async throws(AgentActionError)

    /// Stops one process (it stays stopped until restarted or reconfigured).
    func stop(id: String) async throws(AgentActionError)

    /// Runs `replicas` replicas of the replicated process `id` (its config id) until its config
    /// changes: ``AgentActionError/Code/notFound`` for an unknown id,
    /// ``AgentActionError/Code/conflict`` for a process without `replicas:`.
    func scale(id: String, replicas: Int) async throws(AgentActionError)

    /// Re-reads the config; an invalid one is rejected whole and the old one
    /// keeps running, reported as ``AgentActionError/Code/invalidConfig``.
    func reload() async throws(AgentActionError)

    /// `host:port` of each healthy endpoint serving `host` (already filtered).
    func routes(host: String) async -> [String]

    /// The journal the agent publishes lifecycle events into (`GET /api/v1/events`).
    var events: EventJournal { get }

    /// Whether `id` names a process now (a worker or a configured job): an events filter on
    /// any other id is a 404.
    func knowsProcess(id: String) async -> Bool

    /// The output history of `id` as a followable ring of lines (ids continue across restarts),
    /// or nil for an unknown id. A known process that has not run yet has an empty ring.
    func logStream(id: String) async -> StreamRing<OutputLine>?

    /// Sends `signal` to the program's whole process group: ``AgentActionError/Code/notFound``
    /// for an unknown id, ``AgentActionError/Code/conflict`` when no program runs.
    func signal(id: String, signal: ProcessSignalName) async throws(AgentActionError)

    /// Every registered agent of the fleet as Prometheus `http_sd` target groups
    /// (`GET /api/v1/fleet/targets`).
    func fleetTargets() async -> FleetTargetsAnswer
}

extension AgentBackend {
    /// A backend without a fleet (a test double, a benchmark's synthetic agent).
    public func fleetTargets() async -> FleetTargetsAnswer { .notConfigured }

    public var readinessProblem: String? {
        isReady ? nil : "config not loaded or first reconcile not done"
    }
}
