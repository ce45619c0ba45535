/// The faults the chaos suite injects; `--faults` selects a subset by these names.
enum ChaosFault: String, CaseIterable, Sendable {
    /// SIGKILL of a managed child (a group leader): restarted within its backoff.
    case killChild = "kill-child"
    /// SIGKILL of a grandchild (a process a child forked).
    case killGrandchild = "kill-grandchild"
    /// SIGSTOP of a child for a moment, then SIGCONT.
    case stopChild = "stop-child"
    /// SIGSTOP of a grandchild for a moment, then SIGCONT.
    case stopGrandchild = "stop-grandchild"
    /// SIGKILL of the guardian; it must come back, and a following agent SIGKILL must still
    /// leave no survivor.
    case killGuardian = "kill-guardian"
    /// SIGKILL of the agent with `orphans: kill`: nothing may survive it; a new agent starts.
    case agentKill = "agent-kill"
    /// With `orphans: adopt`: SIGKILL of the agent leaves the children running, a new agent
    /// adopts the same pids; then back to `orphans: kill`, whose agent must sweep them.
    case agentAdopt = "agent-adopt"
    /// Several config writes + `POST /-/reload` in a row, valid and invalid mixed.
    case reloadStorm = "reload-storm"
    /// Many idle connections to the agent (its soft fd limit is 1,024 as on a default system),
    /// then a child is killed: it must still be restarted and `/healthz` must answer.
    case fdExhaustion = "fd-exhaustion"
    /// The state directory (a small tmpfs) filled up, then a child killed and a reload.
    case stateDirFull = "state-dir-full"

    /// The faults that hold on today's main (the CI selection): 0 violations in a 10-minute run
    /// (seed 42). Left out until issue 10's fixes land: kill-guardian (a dead guardian is not
    /// noticed: not re-spawned, and the agent's SIGKILL then leaves the grandchildren alive),
    /// fd-exhaustion (idle connections take every descriptor under the default soft limit: no
    /// restart, no `/healthz`) and state-dir-full (after ENOSPC the state file stays stale until
    /// the next change). Also left out, because they fail now and then: agent-kill (1 in 108: a
    /// grandchild outlived the agent's SIGKILL) and reload-storm (3 in 121: the series of a
    /// process removed in the storm was still exported 15 s later).
    static let passingToday: [ChaosFault] = [
        .killChild, .killGrandchild, .stopChild, .stopGrandchild, .agentAdopt,
    ]
}
