/// The kinds of event the agent publishes on `GET /api/v1/events`; each raw value is the SSE
/// `event:` name, the JSON `type` and the `type` label of `procmgr_events_total`, so every kind
/// a client can see is also countable (issue 14, seed 003).
public enum AgentEventType: String, Sendable, CaseIterable, Codable {
    /// A worker's lifecycle state changed: `from`, `to`, `reason` (a termination's reason).
    case state
    /// A program was started (the first, a restart's, or one adopted from a previous agent): `pid`.
    case start
    /// The program exited: `pid`, `exit` (`exit 1`, `signal 9 (KILL)`).
    case exit
    /// A restart was decided: `reason` (the restart reason label), `restarts` (count so far).
    case restart
    /// A probe's verdict flipped: `probe` (liveness, readiness, startup), `result` (success, failure).
    case probe
    /// Readiness flipped (a readiness probe or sd_notify `READY=1`): `ready`.
    case ready
    /// A start began or stopped waiting for a dependency: `dependency`, `condition`, `waiting`.
    case dependencyWait = "dependency_wait"
    /// A config reload was applied or rejected: `result`, `problems`, `source`.
    case reload
    /// A replicated process was scaled through the API: `replicas`.
    case scale
    /// The kernel's OOM killer ended the program (execution context, issue 12).
    case oom
}
