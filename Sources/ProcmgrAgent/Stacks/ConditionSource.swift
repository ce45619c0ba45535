public import ProcmgrEngine

/// What the dependency conditions of one process are computed from, at one moment.
///
/// Gathered from the engine (lifecycle state) and the runtime (program, probes, last exit) by a
/// ``ConditionSource``; the ``DependencyGate`` only reads it, so the gate is tested with plain
/// values.
public struct DependencyFacts: Sendable, Hashable {
    /// A program of the process is alive now.
    public var programRunning: Bool
    /// The startup probe succeeded once for the current program (true without one).
    public var startupPassed: Bool
    /// The readiness probe passes (true without one; with sd_notify, also READY=1 seen).
    public var ready: Bool
    /// The liveness probe passes (true without one).
    public var healthy: Bool
    /// `nil` before any run ended; true when the last run exited with status 0.
    public var lastExitSucceeded: Bool?
    /// The engine's lifecycle state of the process's worker.
    public var engineState: ProcessState
    /// Identifies the current program (its pid), `nil` while none runs: a value other than the
    /// one seen before means the process started a new program (what `restart: true` follows).
    public var program: Int32?

    public init(
        programRunning: Bool, startupPassed: Bool = true, ready: Bool, healthy: Bool,
        lastExitSucceeded: Bool?, engineState: ProcessState, program: Int32?
    ) {
        self.programRunning = programRunning
        self.startupPassed = startupPassed
        self.ready = ready
        self.healthy = healthy
        self.lastExitSucceeded = lastExitSucceeded
        self.engineState = engineState
        self.program = program
    }
}

/// Where the ``DependencyCoordinator`` reads a process's facts. Called under the coordinator's
/// lock, so an implementation must not call back into the coordinator.
public protocol ConditionSource: Sendable {
    /// The facts of a process (a replica id, never a replicated config id); `nil` when the
    /// engine does not know it (not created yet, or purged).
    func facts(of id: String) -> DependencyFacts?
}
