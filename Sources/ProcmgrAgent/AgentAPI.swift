import Foundation
import ProcmgrConfig
public import ProcmgrEngine
public import ProcmgrHTTP
public import ProcmgrMetrics
public import ProcmgrRuntime
public import ProcmgrSupport

/// The HTTP API's view of the running agent: every answer is read from the engine (lifecycle
/// state), the runtime (pid, port, exits, output), the reconciler (hostnames) and the dependency
/// coordinator (what a start waits for); every action is an engine or runtime call. It holds no process state of its own beyond readiness.
public final class AgentAPI: AgentBackend {
    private let engine: AgentEngine
    private let runtime: ProcessRuntime
    private let reconciler: Reconciler
    private let dependencies: DependencyCoordinator
    private let registry: MetricsRegistry
    private let readiness: any ServingReadiness
    private let ready = LockedState(false)
    private let reloader: @Sendable () async -> ConfigController.Outcome
    private let fleet: (@Sendable () -> FleetTargetsAnswer)?
    public let events: EventJournal

    public init(
        engine: AgentEngine, runtime: ProcessRuntime, reconciler: Reconciler, dependencies: DependencyCoordinator,
        registry: MetricsRegistry, readiness: any ServingReadiness, events: EventJournal,
        fleetTargets: (@Sendable () -> FleetTargetsAnswer)? = nil,
        reload: @escaping @Sendable () async -> ConfigController.Outcome
    ) {
        self.events = events
        self.fleet = fleetTargets
        self.engine = engine
        self.runtime = runtime
        self.reconciler = reconciler
        self.dependencies = dependencies
        self.registry = registry
        self.readiness = readiness
        self.reloader = reload
    }

    /// Called once the config is loaded and the first reconcile is done (`/readyz`).
    public func markReady() { ready.withLock { $0 = true } }

    public var isReady: Bool { ready.withLock { $0 } }

    /// The fleet's registered agents (`agent.etcd`), from the agent's watch of the registrations.
    public func fleetTargets() async -> FleetTargetsAnswer {
        fleet?() ?? .notConfigured
    }

    /// Not ready before the first reconcile, and while the guardian is down (its re-spawn
    /// failed): the agent then cannot promise that no child outlives it, and an orchestrator
    /// watching `/readyz` should know.
    public var readinessProblem: String? {
        guard isReady else { return "config not loaded or first reconcile not done" }
        guard runtime.orphanGuardUp else {
            return "orphan guard down: the guardian process died and could not be re-spawned, so children could outlive the agent (see the log)"
        }
        return nil
    }

    public func writeMetrics(into buffer: inout [UInt8]) {
        registry.writeExposition(into: &buffer)
    }

    /// Every worker, plus the scheduled jobs that have none (before their first run).
    public func processes() async -> [ProcessView] {
        let now = Self.clocks()
        let statuses = engine.statuses()
        let known = Set(statuses.map(\.id))
        let waitingJobs = reconciler.specs().filter { $0.schedule != nil && !known.contains($0.id) }
        let usage = runtime.resourceUsage(of: known)
        return (statuses.map { view(of: $0, now: now, usage: usage[$0.id]) } + waitingJobs.map { jobView($0) }).sorted { $0.id < $1.id }
    }

    public func process(id: String) async -> ProcessView? {
        if let status = engine.status(of: id) {
            return view(of: status, now: Self.clocks(), usage: runtime.resourceUsage(of: [id])[id])
        }
        guard let spec = reconciler.spec(of: id), spec.schedule != nil else { return nil }
        return jobView(spec)
    }

    public func logs(id: String, tail: Int) async -> [LogLineView]? {
        guard engine.status(of: id) != nil || reconciler.spec(of: id) != nil else { return nil }
        let lines = runtime.recentOutput(of: id) ?? []
        return lines.suffix(max(0, tail)).map { LogLineView(stream: $0.stream.rawValue, text: $0.text) }
    }

    /// A running program is stopped and started again (reason `manual`); a process whose worker
    /// ended (stopped, `restart: never`) is started anew; one still terminating is started once
    /// it finished.
    public func restart(id: String) async throws(AgentActionError) {
        guard let status = engine.status(of: id) else {
            guard reconciler.recreate(id) else { throw .notFound(id: id) }
            return
        }
        if status.state <= .running, runtime.requestRestart(of: id) { return }
        if status.state <= .running {
            // No program right now (waiting out a restart backoff): start it at once.
            engine.requestSync(id)
            return
        }
        _ = reconciler.recreate(id)
    }

    /// Terminates the process with its configured grace period; it stays stopped until restarted
    /// through the API or its config changes.
    public func stop(id: String) async throws(AgentActionError) {
        guard engine.status(of: id) != nil else {
            // A scheduled job before its first run: nothing runs, nothing to stop.
            guard reconciler.spec(of: id)?.schedule != nil else { throw .notFound(id: id) }
            return
        }
        engine.terminate(id, reason: "stopped through the API")
    }

    /// Scale overrides are kept until the process's config changes, like `stop`.
    public func scale(id: String, replicas: Int) async throws(AgentActionError) {
        try reconciler.scale(id, to: replicas)
        events.publish(.scale(process: id, replicas: replicas))
    }

    public func reload() async throws(AgentActionError) {
        switch await reloader() {
        case .applied: return
        case .rejected(let error): throw .invalidConfig(problems: error.lines)
        }
    }

    public func knowsProcess(id: String) async -> Bool {
        engine.status(of: id) != nil || reconciler.spec(of: id) != nil
    }

    /// The runtime creates a process's ring at its first sync (a process waiting for a dependency
    /// has one). Only a scheduled job before its first run has none: it gets an empty ring (nothing
    /// to follow until the job's first run; a client reconnects to see it).
    public func logStream(id: String) async -> StreamRing<OutputLine>? {
        guard await knowsProcess(id: id) else { return nil }
        return runtime.outputStream(of: id) ?? StreamRing(capacity: 1, subscriberBuffer: 1)
    }

    public func signal(id: String, signal: ProcessSignalName) async throws(AgentActionError) {
        guard await knowsProcess(id: id) else { throw .notFound(id: id) }
        guard runtime.signal(id, signal.number) else {
            throw .conflict("\(id) has no running program to signal")
        }
    }

    public func routes(host: String) async -> [String] {
        let wanted = host.lowercased()
        return reconciler.specs().filter { $0.hostnames.contains(wanted) }.compactMap { spec in
            guard readiness.isServing(spec.id), let port = runtime.snapshot(of: spec.id)?.port else { return nil }
            return "127.0.0.1:\(port)"
        }
    }

    // MARK: Views

    private struct Clocks {
        let unix: Double
        let monotonic: ContinuousClock.Instant
    }

    private static func clocks() -> Clocks {
        Clocks(unix: Date().timeIntervalSince1970, monotonic: ContinuousClock().now)
    }

    private func view(of status: ProcessStatus, now: Clocks, usage: ProgramResourceUsage?) -> ProcessView {
        let snapshot = runtime.snapshot(of: status.id)
        let spec = reconciler.spec(of: status.id)
        let running = status.state <= .terminating
        let unix = { (instant: ContinuousClock.Instant) in now.unix + Self.seconds(now.monotonic.duration(to: instant)) }
        let nextRestart = snapshot?.nextStartAt.map(unix)
        // The current program's start, not the worker's first: uptime restarts with the program.
        let startedAt = running ? (snapshot?.programStartedAt.map(unix) ?? status.startedAt) : status.startedAt
        return ProcessView(
            id: status.id,
            state: status.state.description,
            pid: running ? snapshot?.pid : nil,
            port: snapshot?.port,
            healthy: status.healthy,
            ready: running && snapshot?.ready == true,
            restarts: snapshot?.restarts ?? status.restartCount,
            lastError: status.lastError ?? status.terminationReason,
            lastExit: snapshot?.lastExit,
            createdAt: status.createdAt,
            startedAt: startedAt,
            terminatingAt: status.terminatingAt,
            nextRestartAt: nextRestart,
            heartbeatLatencySeconds: snapshot?.heartbeatLatency.map(Self.seconds),
            hostnames: spec?.hostnames ?? [],
            status: running ? snapshot?.notifyStatus : nil,
            waitingFor: dependencies.waitingFor(status.id).map {
                WaitingForView(id: $0.id, condition: $0.condition.rawValue, since: $0.since)
            },
            replicaOf: spec?.replicaOf,
            nextRunAt: reconciler.nextRun(of: status.id)?.timeIntervalSince1970,
            cpuSeconds: running ? usage?.cpuSeconds : nil,
            memoryBytes: running ? usage?.memoryBytes : nil)
    }

    /// A scheduled job that has not run yet: `finished` (nothing runs, no restart pending), as it
    /// is between runs, with its next fire.
    private func jobView(_ spec: ProcessSpec) -> ProcessView {
        ProcessView(
            id: spec.id, state: ProcessState.finished.description, createdAt: reconciler.jobConfiguredAt(spec.id) ?? 0,
            hostnames: spec.hostnames, replicaOf: spec.replicaOf,
            nextRunAt: reconciler.nextRun(of: spec.id)?.timeIntervalSince1970)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
