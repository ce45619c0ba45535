public import ProcmgrConfig
import ProcmgrEngine

extension DependencyCondition {
    /// Whether one process (one replica) meets the condition.
    ///
    /// `running`, `ready` and `healthy` build on each other and need the worker to be `running`
    /// (not starting, not being stopped) with its startup probe passed: a dependent must not start
    /// against a program the agent is tearing down. `started` asks only that a program is alive;
    /// `completed_successfully` that the last run exited 0 and no new one runs.
    public func holds(for facts: DependencyFacts) -> Bool {
        let running = facts.programRunning && facts.engineState == .running && facts.startupPassed
        return switch self {
        case .started: facts.programRunning
        case .running: running
        case .ready: running && facts.ready
        case .healthy: running && facts.healthy
        case .completedSuccessfully: !facts.programRunning && facts.lastExitSucceeded == true
        }
    }

    /// "waiting for db \(phrase)": how the log says what is awaited.
    var phrase: String {
        switch self {
        case .started: "to be started"
        case .running: "to be running"
        case .ready: "to be ready"
        case .healthy: "to be healthy"
        case .completedSuccessfully: "to complete successfully"
        }
    }
}
