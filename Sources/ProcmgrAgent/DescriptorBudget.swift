public import ProcmgrConfig
import ProcmgrHTTP

/// What a set of processes costs the agent in open files, and whether it fits its limit.
///
/// Why a budget checked up front: a config that cannot fit does not fail at once. It starts the
/// processes that fit and then fails every further spawn with `EMFILE`, retrying for ever (seen:
/// 6,650 of 10,000 running, 68,000 spawn failures in 15 minutes). Refused whole, with the
/// arithmetic, the operator learns what to raise before anything runs; a reload that does not
/// fit is rejected like an invalid one, and the processes keep running as they were.
///
/// The long-lived descriptors the agent holds per running program:
/// - its stdout pipe: 1. Its stderr arrives on the agent's one shared ``StderrSink`` socket, and
///   exits need none (children are reaped by the SIGCHLD-woken sweep,
///   ``ExitWatcher/watchChild(pid:pidfd:)``). In `orphans: adopt` mode, two FIFOs instead: 2;
/// - a heartbeat socket, with `heartbeat:`: 1; a NOTIFY_SOCKET, with `notify:`: 1;
/// - its log file, with `log_file:`: 1;
/// - its cgroup's OOM watch (an eventfd or inotify), where the agent has cgroups and the program
///   a `limits.memory`: 1.
/// Plus what does not scale with processes (``agentBase``: listener, epoll, timers, state file,
/// guardian, config watcher, logging), a transient reserve for probes, hooks and the overlap of a
/// restart (``transientBase`` plus one per ``programsPerTransient``), and the API's minimum
/// connections (``ConnectionBudget/minimumConnections``).
struct DescriptorBudget: Sendable, Equatable {
    static let agentBase = ConnectionBudget.baseReserve
    /// stdout's pipe (stderr shares the agent's sink); two FIFOs in `orphans: adopt` mode.
    let outputPerProgram: Int
    static let transientBase = 128
    static let programsPerTransient = 32

    /// Programs that run at once (replicas counted).
    var programs = 0
    var heartbeats = 0
    var notifySockets = 0
    var logFiles = 0
    var cgroupWatches = 0

    init(specs: [ProcessSpec], cgroups: Bool, adoptableOutput: Bool = false) {
        outputPerProgram = adoptableOutput ? 2 : 1
        for spec in specs {
            let count = max(0, spec.replicas ?? 1)
            programs += count
            if spec.heartbeat != nil { heartbeats += count }
            if spec.notify != nil { notifySockets += count }
            if spec.logFile != nil { logFiles += count }
            if cgroups && spec.limits?.memoryBytes != nil { cgroupWatches += count }
        }
    }

    var transient: Int { Self.transientBase + programs / Self.programsPerTransient }

    /// Descriptors kept for supervision (everything but the API's connections).
    var supervision: Int {
        Self.agentBase + programs * outputPerProgram + heartbeats + notifySockets + logFiles + cgroupWatches + transient
    }

    /// Descriptors the agent needs at least: supervision plus the API's minimum.
    var needed: Int { supervision + ConnectionBudget.minimumConnections }

    /// `nil` when it fits `limit`; otherwise why not, with the arithmetic.
    /// - Parameters:
    ///   - limit: the agent's soft limit (after raising it).
    ///   - attainable: the highest limit the agent could have been given (its hard limit, or
    ///     `fs.nr_open` as root), for the advice.
    func problem(limit: Int, attainable: Int) -> ConfigProblem? {
        guard needed > limit else { return nil }
        var parts = ["\(Self.agentBase) for the agent", "\(programs.grouped) programs × \(outputPerProgram == 1 ? "1 output pipe" : "\(outputPerProgram) output FIFOs")"]
        if heartbeats > 0 { parts.append("\(heartbeats.grouped) heartbeat sockets") }
        if notifySockets > 0 { parts.append("\(notifySockets.grouped) notify sockets") }
        if logFiles > 0 { parts.append("\(logFiles.grouped) log files") }
        if cgroupWatches > 0 { parts.append("\(cgroupWatches.grouped) cgroup OOM watches") }
        parts.append("\(transient.grouped) spare for probes, hooks and restarts")
        parts.append("\(ConnectionBudget.minimumConnections) API connections")
        let advice = attainable > limit
            ? "the agent could not raise its limit to \(attainable.grouped)"
            : "raise it where the agent is started (`ulimit -n`, systemd `LimitNOFILE=`, or run it with CAP_SYS_RESOURCE, as root normally is, to reach fs.nr_open)"
        return ConfigProblem(
            path: ConfigPath(components: [.key("processes")]),
            message: "needs \(needed.grouped) open files (\(parts.joined(separator: " + "))) but the agent's open-file limit is \(limit.grouped); \(advice)")
    }
}

extension Int {
    /// 20,000: figures in messages read like the rest of procmgr's.
    var grouped: String {
        let digits = String(magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (self < 0 ? "-" : "") + out
    }
}

/// The budget check every apply runs (``ConfigController``): the set must fit the agent's limit.
public struct DescriptorCheck: Sendable {
    let cgroups: Bool
    /// `orphans: adopt`: two FIFOs per program.
    let adoptableOutput: Bool
    /// The limit to check against; `nil`: the agent's soft limit now.
    let limit: Int?

    public init(cgroups: Bool, adoptableOutput: Bool = false, limit: Int? = nil) {
        self.cgroups = cgroups
        self.adoptableOutput = adoptableOutput
        self.limit = limit
    }

    func check(_ specs: [ProcessSpec]) throws(ConfigError) {
        let limit = self.limit ?? DescriptorLimit.soft
        let attainable = self.limit ?? DescriptorLimit.attainable
        if let problem = DescriptorBudget(specs: specs, cgroups: cgroups, adoptableOutput: adoptableOutput).problem(limit: limit, attainable: attainable) {
            throw ConfigError(code: .limit, problems: [problem])
        }
    }
}

extension DescriptorCheck {
    /// The problem `procmgr validate` reports: `specs` against the highest limit an agent started
    /// from this shell could raise itself to (cgroup watches not counted: unknown until it runs).
    public static func problemForThisShell(_ specs: [ProcessSpec], adoptableOutput: Bool) -> ConfigProblem? {
        let attainable = DescriptorLimit.attainable
        return DescriptorBudget(specs: specs, cgroups: false, adoptableOutput: adoptableOutput).problem(limit: attainable, attainable: attainable)
    }
}
