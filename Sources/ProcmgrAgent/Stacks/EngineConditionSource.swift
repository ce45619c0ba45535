import ProcmgrEngine
import ProcmgrRuntime

/// The dependency facts of a process as the engine and the runtime know them: lifecycle state and
/// health from the engine, program and last exit from the runtime.
///
/// Until the runtime reports probe results per kind, readiness is the engine's health (a process
/// without a probe is healthy while running) and a startup probe counts as passed.
struct EngineConditionSource: ConditionSource {
    let engine: AgentEngine
    let runtime: ProcessRuntime

    func facts(of id: String) -> DependencyFacts? {
        guard let status = engine.status(of: id) else { return nil }
        let snapshot = runtime.snapshot(of: id)
        let program = snapshot?.pid
        return DependencyFacts(
            programRunning: program != nil, startupPassed: true, ready: status.healthy, healthy: status.healthy,
            lastExitSucceeded: snapshot?.lastExitSucceeded, engineState: status.state, program: program)
    }
}
