/// Why a running program was stopped and started again: the `reason` label of
/// `procmgr_restarts_total` (SPEC §3.4). The metric's label values are the raw values, and the
/// series a purged process leaves are removed for `allCases`.
public enum RestartReason: String, Sendable, Hashable, CaseIterable {
    /// The program exited on its own and `restart:` allowed it to start again.
    case exit
    /// Its liveness probe (`health:` in older configs) failed `failure_threshold` times in a row.
    case liveness
    /// Its startup probe failed `failure_threshold` times in a row before it ever passed.
    case startup
    /// A heartbeat was not answered within its timeout.
    case heartbeat
    /// Its effective config changed (or an adopted child was started with another one).
    case config
    /// The operator asked for it (`POST …/restart`).
    case manual
    /// Its sd_notify watchdog was not fed in time (or it sent `WATCHDOG=trigger`).
    case watchdog
    /// A dependency it names with `depends_on.X.restart: true` started a new program.
    case dependency
    /// The kernel's OOM killer ended it inside its cgroup (`limits.memory`).
    case oom
}

/// A check of a running program that can fail and so stop it.
enum CheckKind: String, Sendable, Hashable, CaseIterable {
    case liveness
    case startup
    case heartbeat
    case watchdog

    /// A failed check restarts with the check's own reason.
    var restartReason: RestartReason {
        switch self {
        case .liveness: .liveness
        case .startup: .startup
        case .heartbeat: .heartbeat
        case .watchdog: .watchdog
        }
    }
}

/// Why the runtime ends a worker for good (a terminal sync result): the policy said the program
/// must not start again.
public enum TerminationReason: String, Sendable, Hashable, CaseIterable {
    /// It exited and `restart: never`.
    case exitedRestartNever = "exited; restart: never"
    /// It exited with status 0 and `restart: on-failure`.
    case exitedCleanly = "exited cleanly; restart: on-failure"
    /// Its liveness probe failed and `restart: never`.
    case livenessFailed = "stopped: liveness probe failed; restart: never"
    /// Its startup probe failed and `restart: never`.
    case startupFailed = "stopped: startup probe failed; restart: never"
    /// A heartbeat was missed and `restart: never`.
    case heartbeatMissed = "stopped: heartbeat check failed; restart: never"
    /// The sd_notify watchdog failed and `restart: never`.
    case watchdogFailed = "stopped: watchdog failed; restart: never"
    /// The kernel's OOM killer ended it and `restart: never`.
    case oomKilledRestartNever = "killed by the OOM killer; restart: never"

    static func checkFailed(_ kind: CheckKind) -> TerminationReason {
        switch kind {
        case .liveness: .livenessFailed
        case .startup: .startupFailed
        case .heartbeat: .heartbeatMissed
        case .watchdog: .watchdogFailed
        }
    }

    /// What the engine shows as the worker's termination reason; an exit names its status.
    func message(status: ProcessExitStatus?) -> String {
        switch self {
        case .exitedRestartNever: "exited (\(status.map { "\($0)" } ?? "unknown")); restart: never"
        default: rawValue
        }
    }
}
