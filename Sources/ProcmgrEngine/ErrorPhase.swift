/// The `phase` label of `procmgr_errors_total`: where in a process's life an error happened.
///
/// Why one enum for every layer: the family is shared (the engine, the runtime and the agent each
/// register it and get the same one), so its label values are one closed set. Each layer records
/// only its own phases (``recorder``) and removes exactly those series when it forgets a process,
/// derived from `allCases` so a new phase cannot be forgotten in a purge list.
public enum ErrorPhase: String, Sendable, Hashable, CaseIterable {
    /// Starting the program failed (port, FIFOs, spawn, output file).
    case spawn
    /// The engine's sync hook threw.
    case sync
    /// The engine's terminating hook threw.
    case terminating
    /// The engine's terminated hook threw.
    case terminated
    /// A health probe did not succeed.
    case health
    /// A heartbeat was not answered in time.
    case heartbeat
    /// A config load or reload was rejected (agent-wide: empty `process` label).
    case config
    /// The state file could not be written (agent-wide: empty `process` label).
    case state
    /// The guardian process died or could not be re-spawned (agent-wide: empty `process` label).
    case guardian
    /// A `hooks.pre_start` command failed or timed out (the start fails and backs off), or a
    /// `hooks.post_stop` command did (logged and counted only).
    case hook

    /// Which layer records a phase, and so which one removes its series.
    public enum Recorder: Sendable, Hashable {
        /// The engine, per process; removed when the worker is purged.
        case engine
        /// The runtime, per process; removed by its terminated hook.
        case runtime
        /// The agent as a whole, with an empty `process` label; never purged.
        case agent
    }

    public var recorder: Recorder {
        switch self {
        case .sync, .terminating, .terminated: .engine
        case .spawn, .health, .heartbeat, .hook: .runtime
        case .config, .state, .guardian: .agent
        }
    }

    /// The phases one layer records, in declaration order.
    public static func recorded(by recorder: Recorder) -> [ErrorPhase] {
        allCases.filter { $0.recorder == recorder }
    }
}
