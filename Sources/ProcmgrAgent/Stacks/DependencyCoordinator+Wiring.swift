public import Logging
public import ProcmgrEngine
public import ProcmgrMetrics
public import ProcmgrRuntime

extension DependencyCoordinator {
    /// A coordinator for `runtime` driven by `engine`, wired as the agent runs them: every start
    /// waits at its gate, and every fact a condition reads — a program spawned or gone, a probe
    /// result (the runtime reports health at each spawn and exit too), a worker state entered — is
    /// reported to it after it changed. Binds the runtime's engine hooks (no `bind(to:)` needed).
    ///
    /// - Parameter observeHealth: also told of every health report, before the coordinator (the
    ///   benchmarks timestamp spawns and exits with it).
    public static func connecting(
        _ runtime: ProcessRuntime, to engine: AgentEngine, registry: MetricsRegistry, logger: Logger,
        observeHealth: (@Sendable (ProcessID, Bool) -> Void)? = nil
    ) throws(MetricsRegistryError) -> DependencyCoordinator {
        let coordinator = try DependencyCoordinator(
            source: EngineConditionSource(engine: engine, runtime: runtime), registry: registry, logger: logger,
            restartDependent: { [weak runtime] in _ = runtime?.requestDependencyRestart(of: $0) })
        runtime.bind(ProcessRuntime.EngineHooks(
            requestSync: { [weak engine] in engine?.requestSync($0) },
            recordRestart: { [weak engine] id, _ in engine?.recordRestart(id) },
            setHealthy: { [weak engine] id, healthy in
                engine?.setHealthy(id, healthy)
                observeHealth?(id, healthy)
            },
            // Outside the runtime's lock (the coordinator reads the runtime's conditions under its own).
            conditionsChanged: { [weak coordinator] id in coordinator?.conditionsChanged(id) }))
        engine.observeStates { [weak coordinator] in coordinator?.conditionsChanged($0.process) }
        runtime.setStartPrecondition(coordinator)
        return coordinator
    }
}
