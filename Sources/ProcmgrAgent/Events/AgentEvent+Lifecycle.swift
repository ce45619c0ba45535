import ProcmgrConfig
import ProcmgrEngine
import ProcmgrHTTP
import ProcmgrRuntime

/// The agent's events as values: each factory sets the pinned fields of its type and the one
/// human line (`message`) that `procmgr events` and the status page print. Pure, so the wording
/// is tested without a running agent.
extension AgentEvent {
    /// A worker entered a state: `api-1: starting → running`, `api-1: running → terminating
    /// (requested)`, `api-1: created (starting)`.
    static func state(_ transition: StateTransition) -> AgentEvent {
        let id = transition.process
        let to = transition.to.description
        var message = transition.from.map { "\(id): \($0.description) → \(to)" } ?? "\(id): created (\(to))"
        if let reason = transition.reason { message += " (\(reason))" }
        var event = AgentEvent(type: .state, process: id, message: message)
        event.from = transition.from?.description
        event.to = to
        event.reason = transition.reason
        return event
    }

    /// A program was reaped: `api-1: program 4242 ended (exit 1)`.
    static func exit(process: String, pid: Int32, status: ProcessExitStatus) -> AgentEvent {
        let exit = exitDescription(status)
        var event = AgentEvent(type: .exit, process: process, message: "\(process): program \(pid) ended (\(exit))")
        event.pid = pid
        event.exit = exit
        return event
    }

    /// A program now runs: `api-1: program 4242 started`.
    static func start(process: String, pid: Int32) -> AgentEvent {
        var event = AgentEvent(type: .start, process: process, message: "\(process): program \(pid) started")
        event.pid = pid
        return event
    }

    /// `exit 1`, `signal 9 (KILL)`, `signal 6 (ABRT, core dumped)`, `unknown` (not our child).
    static func exitDescription(_ status: ProcessExitStatus) -> String {
        switch status {
        case .exited(let code):
            return "exit \(code)"
        case .signaled(let signal, let coreDumped):
            let name = ProcessSignal.name(signal)
            let short = name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name
            return "signal \(signal) (\(short)\(coreDumped ? ", core dumped" : ""))"
        case .unknown:
            return "unknown"
        }
    }

    /// The kernel's OOM killer killed in the process's cgroup: `api-1: killed by the OOM killer
    /// (limits.memory)`, `… (2 processes)` when it took several at once.
    static func oom(process: String, kills: UInt64) -> AgentEvent {
        let count = kills > 1 ? " (\(kills) processes)" : ""
        return AgentEvent(type: .oom, process: process, message: "\(process): killed by the OOM killer (limits.memory)\(count)")
    }

    /// A restart was decided: `api-1: restarting (reason: liveness); restart 3`.
    static func restart(process: String, reason: RestartReason, restarts: Int?) -> AgentEvent {
        let count = restarts.map { "; restart \($0)" } ?? ""
        var event = AgentEvent(type: .restart, process: process, message: "\(process): restarting (reason: \(reason.rawValue))\(count)")
        event.reason = reason.rawValue
        event.restarts = restarts
        return event
    }

    /// A probe's verdict flipped: `api-1: readiness probe failing (last check: timeout)`.
    static func probe(process: String, flip: ProbeFlip) -> AgentEvent {
        let verdict = flip.passing ? "passing" : "failing"
        var event = AgentEvent(
            type: .probe, process: process,
            message: "\(process): \(flip.probe.rawValue) probe \(verdict) (last check: \(flip.lastResult))")
        event.probe = flip.probe.rawValue
        event.result = flip.passing ? "success" : "failure"
        return event
    }

    /// Readiness flipped: `api-1: ready`, `api-1: not ready (no program running)`.
    static func ready(process: String, ready: Bool, programRunning: Bool) -> AgentEvent {
        let message = ready ? "\(process): ready" : "\(process): not ready\(programRunning ? "" : " (no program running)")"
        var event = AgentEvent(type: .ready, process: process, message: message)
        event.ready = ready
        return event
    }

    /// A start began or stopped waiting for a dependency: `web: waiting for db to be healthy`,
    /// `web: done waiting for db to be healthy (satisfied)`.
    static func dependencyWait(_ change: DependencyWaitChange) -> AgentEvent {
        let process = change.process
        let what = "\(change.dependency.id) \(change.dependency.condition.phrase)"
        let message = change.end.map { "\(process): done waiting for \(what) (\($0.rawValue))" } ?? "\(process): waiting for \(what)"
        var event = AgentEvent(type: .dependencyWait, process: process, message: message)
        event.dependency = change.dependency.id
        event.condition = change.dependency.condition.rawValue
        event.waiting = change.waiting
        event.reason = change.end?.rawValue
        return event
    }

    /// A config was applied or rejected: `config applied (source: signal)`,
    /// `config rejected (source: api): 2 problems: …`.
    static func reload(applied: Bool, problems: [String], source: ReloadSource) -> AgentEvent {
        let result = applied ? "applied" : "rejected"
        var message = "config \(result) (source: \(source.rawValue))"
        if !applied {
            message += ": " + (problems.isEmpty ? "invalid" : problems.joined(separator: "; "))
        }
        var event = AgentEvent(type: .reload, message: AgentEvent.oneLine(message))
        event.result = result
        event.problems = applied ? nil : problems
        event.source = source.rawValue
        return event
    }

    /// A replicated process was scaled: `api: scaled to 3 replicas`.
    static func scale(process: String, replicas: Int) -> AgentEvent {
        var event = AgentEvent(type: .scale, process: process, message: "\(process): scaled to \(replicas) replica\(replicas == 1 ? "" : "s")")
        event.replicas = replicas
        return event
    }

    /// A message is one line: a config problem may quote a multi-line value.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// Where a reload came from: the `source` of a `reload` event.
enum ReloadSource: String, Sendable, Hashable, CaseIterable {
    /// The config file (the first load, or a change the watcher saw).
    case file
    /// The admin service (or its cached last good response).
    case admin
    /// The fleet's desired state in etcd (or its cached copy).
    case fleet
    /// `POST /-/reload` or `POST /api/v1/reload`.
    case api
    /// SIGHUP.
    case signal

    init(_ trigger: ReloadTrigger) {
        switch trigger {
        case .startup, .fileChange: self = .file
        case .admin, .adminCache: self = .admin
        case .fleet, .fleetCache: self = .fleet
        case .api: self = .api
        case .sighup: self = .signal
        }
    }
}
