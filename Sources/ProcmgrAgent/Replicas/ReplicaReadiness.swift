public import ProcmgrEngine
public import ProcmgrRuntime

/// Whether a process serves now: what a rolling restart waits for before the next replica and
/// what `GET /api/v1/routes` returns. A protocol so the source can be swapped (the readiness
/// probe's condition once it exists) without touching the rollout or the routes.
public protocol ServingReadiness: Sendable {
    func isServing(_ id: String) -> Bool
}

/// Serving = the worker is running, a program is up, past its startup probe, ready (readiness
/// probe and, with sd_notify, READY=1) and healthy (liveness): the runtime's ``ProcessConditions``.
public struct EngineServingReadiness: ServingReadiness {
    private let engine: AgentEngine
    private let runtime: ProcessRuntime

    public init(engine: AgentEngine, runtime: ProcessRuntime) {
        self.engine = engine
        self.runtime = runtime
    }

    public func isServing(_ id: String) -> Bool {
        // `ready` already implies a running program past its startup probe.
        guard engine.status(of: id)?.state == .running, let conditions = runtime.conditions(of: id) else { return false }
        return conditions.ready && conditions.healthy
    }
}
