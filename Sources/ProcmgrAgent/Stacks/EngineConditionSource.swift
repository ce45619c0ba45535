import ProcmgrEngine
import ProcmgrRuntime

/// The dependency facts of a process as the engine and the runtime know them: the lifecycle state
/// from the engine; program, startup, readiness (probe and READY=1), liveness and last exit from
/// the runtime's ``ProcessConditions``.
struct EngineConditionSource: ConditionSource {
    let engine: AgentEngine
    let runtime: ProcessRuntime

    func facts(of id: String) -> DependencyFacts? {
        guard let status = engine.status(of: id) else { return nil }
        let program = runtime.snapshot(of: id)?.pid
        guard let conditions = runtime.conditions(of: id) else {
            return DependencyFacts(
                programRunning: false, startupPassed: false, ready: false, healthy: false,
                lastExitSucceeded: nil, engineState: status.state, program: nil)
        }
        return DependencyFacts(
            programRunning: conditions.programRunning, startupPassed: conditions.startupPassed, ready: conditions.ready,
            healthy: conditions.healthy, lastExitSucceeded: conditions.lastExitSucceeded, engineState: status.state,
            program: program)
    }
}
