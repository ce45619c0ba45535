public import Foundation
public import Logging
public import ProcmgrConfig
public import ProcmgrEngine
public import ProcmgrHTTP
public import ProcmgrMetrics
public import ProcmgrRuntime
import ProcmgrSupport

/// The engine that runs real programs, as the agent uses it.
public typealias AgentEngine = ProcessManager<ProcessRuntime, ContinuousClock>

/// What one reconciliation did, for the log and the tests.
public struct ReconcileSummary: Sendable, Hashable, CustomStringConvertible {
    public var created: [String] = []
    /// Effective config changed: restarted with reason `config` (replicas: rolling, one after
    /// another, as ``RolloutDriver`` releases them).
    public var changed: [String] = []
    /// No longer desired: terminated.
    public var removed: [String] = []
    /// Scheduled jobs now configured: started only at their fire times.
    public var jobs: [String] = []
    public var unchanged = 0

    public var description: String {
        "created \(created.count), changed \(changed.count), removed \(removed.count), unchanged \(unchanged), jobs \(jobs.count)"
    }
}

/// Turns the desired process list into engine updates, as kubelet's pod config turns the API
/// server's pods into pod worker updates.
///
/// Only a process whose *effective* config changed is touched (the runtime restarts its program
/// because the active config differs from the one it started with); new ids are created, ids no
/// longer desired are terminated through ``ProcessManager/syncKnownProcesses(_:)``, which also
/// purges their finished workers. Equality is on `ManagedProcess`, the runtime's view, so spelling
/// (`60s` vs `1m`) or fields the runtime does not use never restart anything.
///
/// A process the operator stopped (`POST …/stop`) stays stopped across reloads until its config
/// changes or the operator restarts it: the desired set keeps it, so it is not purged, and an
/// unchanged config sends no update.
///
/// A replicated process (`replicas: N`) is expanded into its replicas `{id}.{n}`; their count is
/// the config's or the operator's scale (kept until the process's config changes, like `stop`).
/// Changed replicas are handed to the ``RolloutDriver`` instead of the engine, which restarts them
/// one after another. Scheduled jobs are desired (listed, kept, purged when removed) but started
/// only by the ``JobDriver`` at their fire times.
///
/// Service stacks: every apply hands the new dependency map to the ``DependencyCoordinator``
/// before any update, so a created process waits for its dependencies from its first start; a
/// change of `depends_on` alone is not a change of `ManagedProcess` and restarts nothing. A
/// changed process whose start was waiting for its dependencies is let go, so the engine starts
/// over with the new config at once. Removed processes stop dependents first: the later levels of
/// their ``StopOrder`` (by the *previous* map, the one they ran under) are held back from
/// termination until the level before them is terminated.
public final class Reconciler: Sendable {
    /// A class, not a struct: the two configs are ~600 bytes, and a dictionary of 1,000 of them
    /// inline (with its empty buckets) held 1.3 MiB; boxed it holds 8 bytes a bucket.
    private final class Desired: Sendable {
        let spec: ProcessSpec
        let managed: ManagedProcess

        init(spec: ProcessSpec, managed: ManagedProcess) {
            self.spec = spec
            self.managed = managed
        }
    }

    /// What the last apply was given, for a scale to apply again with another count.
    private struct Applied: Sendable {
        var specs: [ProcessSpec] = []
        var environment: [String: String] = [:]
        var scales = ScaleOverrides<ProcessSpec>()
    }

    private let engine: AgentEngine
    private let desired: LockedState<[String: Desired]>
    /// Held for a whole apply or scale: they run one at a time (a scale from the API may meet a
    /// reload). Never taken by readers, which use `desired`.
    private let applied = LockedState(Applied())
    private let dependencies: DependencyCoordinator?
    /// The dependency map of the desired state.
    private let graph = LockedState(DependencyGraph())
    /// Removed processes whose termination waits until their removed dependents are terminated.
    private let held = LockedState<Set<String>>([])
    private let removals: AsyncStream<String>
    private let removalsContinuation: AsyncStream<String>.Continuation
    private let orderedRemovals: AsyncStream<[[String]]>
    private let orderedRemovalsContinuation: AsyncStream<[[String]]>.Continuation
    /// Performs the rolling restarts of replicated processes.
    public let rollouts: RolloutDriver
    /// Starts scheduled jobs at their fire times; run by the agent.
    let jobs: JobDriver<ScheduleSpec>
    private let jobMetrics: JobMetrics

    public init(
        engine: AgentEngine, runtime: ProcessRuntime, registry: MetricsRegistry, readiness: any ServingReadiness,
        jobClock: any JobClock, dependencies: DependencyCoordinator? = nil, logger: Logger
    ) throws(MetricsRegistryError) {
        self.engine = engine
        self.dependencies = dependencies
        (removals, removalsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (orderedRemovals, orderedRemovalsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        rollouts = RolloutDriver(engine: engine, runtime: runtime, readiness: readiness, logger: logger)
        let jobMetrics = try JobMetrics(registry: registry)
        self.jobMetrics = jobMetrics
        let desired = LockedState<[String: Desired]>([:])
        self.desired = desired
        let runner = EngineJobRunner(
            engine: engine, runtime: runtime, metrics: jobMetrics, clock: jobClock,
            config: { id in desired.withLock { $0[id]?.managed } })
        jobs = JobDriver(clock: jobClock, runner: runner, logger: logger) { id in
            jobMetrics.record(id, .skipped, at: jobClock.now().timeIntervalSince1970)
        }
    }

    /// Stops removed stacks level by level and purges each removed process as soon as its worker
    /// finished, so its record and series leave the API and /metrics at once rather than at the
    /// next periodic housekeeping. Runs until cancelled; part of the agent's task group.
    public func handleRemovals() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await withDiscardingTaskGroup { stacks in
                    for await levels in self.orderedRemovals {
                        stacks.addTask { await self.stopInOrder(levels) }
                    }
                }
            }
            for await id in removals {
                group.addTask {
                    _ = await self.engine.waitUntil(id, reaches: .finished)
                    self.housekeeping()
                }
            }
        }
    }

    /// Releases each held level once the level before it is terminated; housekeeping then
    /// terminates it. An id desired again meanwhile (a later reload) is no longer held and stays.
    private func stopInOrder(_ levels: [[String]]) async {
        for (previous, level) in zip(levels, levels.dropFirst()) {
            // One desired again stays running: nothing waits for it to stop.
            let stopping = desired.withLock { desired in previous.filter { desired[$0] == nil } }
            await withDiscardingTaskGroup { group in
                for id in stopping { group.addTask { _ = await self.engine.waitUntil(id, reaches: .terminated) } }
            }
            held.withLock { $0.subtract(level) }
            housekeeping()
        }
    }

    /// Applies a complete, validated desired state.
    @discardableResult
    public func apply(_ specs: [ProcessSpec], environment: [String: String]) -> ReconcileSummary {
        applied.withLock { applied in
            applied.specs = specs
            applied.environment = environment
            return reconcile(&applied)
        }
    }

    /// Runs `count` replicas of the replicated process `id` (its config id) until its config
    /// changes. Scale-down removes the highest indexes; scale-up adds the next ones.
    @discardableResult
    public func scale(_ id: String, to count: Int) throws(AgentActionError) -> ReconcileSummary {
        try applied.withLock { (applied: inout Applied) throws(AgentActionError) -> ReconcileSummary in
            guard let spec = applied.specs.first(where: { $0.id == id }) else { throw .notFound(id: id) }
            guard spec.replicas != nil else {
                throw .conflict("process \"\(id)\" is not replicated: only a process with replicas: in its config can be scaled")
            }
            applied.scales.set(id, count: count, config: spec)
            return reconcile(&applied)
        }
    }

    /// The replica count set through the API for `id`, while it holds.
    public func scaleOverride(of id: String) -> Int? {
        applied.withLock { $0.scales.override(of: id) }
    }

    private func reconcile(_ applied: inout Applied) -> ReconcileSummary {
        var summary = ReconcileSummary()
        let (specs, groups) = Self.expand(applied.specs, scales: &applied.scales)
        let environment = applied.environment
        let next = Dictionary(specs.map {
            ($0.id, Desired(spec: $0, managed: ManagedProcess(spec: $0, agentEnvironment: environment)))
        }, uniquingKeysWith: { _, last in last })
        let previous = desired.withLock { current in
            defer { current = next }
            return current
        }
        let nextGraph = DependencyGraph(specs: specs)
        let previousGraph = graph.withLock { current in
            defer { current = nextGraph }
            return current
        }
        held.withLock { $0.subtract(next.keys) }
        // Before any update: a process created now waits for its dependencies from its first start.
        dependencies?.setGraph(nextGraph)
        var rolling: [String: [(id: String, config: ManagedProcess)]] = [:]
        for spec in specs {
            let id = spec.id
            guard let wanted = next[id]?.managed else { continue }  // every spec is in `next`
            if spec.schedule != nil {
                summary.jobs.append(id)
                continue
            }
            guard let before = previous[id] else {
                engine.update(id, config: wanted, type: .create)
                summary.created.append(id)
                continue
            }
            if before.managed == wanted {
                summary.unchanged += 1
                continue
            }
            summary.changed.append(id)
            if let group = spec.replicaOf {
                rolling[group, default: []].append((id, wanted))
                continue
            }
            // A worker past running cannot take an update; `.create` starts it anew once finished.
            let state = engine.status(of: id)?.state
            let type: UpdateType = (state.map { $0 >= .terminating } ?? true) ? .create : .update
            engine.update(id, config: wanted, type: type)
            // A start still waiting for its dependencies goes ahead with the new config at once.
            dependencies?.supersede(id)
        }
        summary.removed = previous.keys.filter { next[$0] == nil }.sorted()
        let order = StopOrder(stopping: summary.removed, graph: previousGraph)
        if order.levels.count > 1 {
            held.withLock { $0.formUnion(order.levels.dropFirst().joined()) }
            orderedRemovalsContinuation.yield(order.levels)
        }
        housekeeping()
        for id in summary.removed { removalsContinuation.yield(id) }
        rollouts.forget(summary.removed)
        for (group, spec) in groups {
            if let targets = rolling[group] {
                rollouts.roll(group, targets: targets, maxUnavailable: spec.update.maxUnavailable)
            }
        }
        let previousGroups = Set(previous.values.compactMap(\.spec.replicaOf))
        for group in previousGroups where groups[group] == nil { rollouts.cancel(group) }
        let removedJobs = jobs.configure(specs.compactMap { spec in
            spec.schedule.map { JobDriver<ScheduleSpec>.Job(id: spec.id, schedule: $0, overlap: $0.concurrency) }
        })
        for id in removedJobs { jobMetrics.remove(id) }
        return summary
    }

    /// Replicated specs replaced by their replicas (in index order), with the replicated specs
    /// by config id.
    private static func expand(_ specs: [ProcessSpec], scales: inout ScaleOverrides<ProcessSpec>) -> ([ProcessSpec], [String: ProcessSpec]) {
        var expanded: [ProcessSpec] = []
        var groups: [String: ProcessSpec] = [:]
        for spec in specs {
            guard let configured = spec.replicas else {
                expanded.append(spec)
                continue
            }
            groups[spec.id] = spec
            let count = scales.count(for: spec.id, config: spec, configured: configured)
            expanded += (0..<max(0, count)).map { spec.replica($0) }
        }
        scales.keepOnly(Set(groups.keys))
        return (expanded, groups)
    }

    /// Terminates workers that are not desired and purges finished ones (kubelet's
    /// `SyncKnownPods`); the agent also runs it periodically so removed processes' records and
    /// series go away even without another reload.
    public func housekeeping() {
        let ids = desired.withLock { Array($0.keys) } + held.withLock { Array($0) }
        _ = engine.syncKnownProcesses(ids)
    }

    /// The desired spec of a process (hostnames, health, …), if configured.
    public func spec(of id: String) -> ProcessSpec? {
        desired.withLock { $0[id]?.spec }
    }

    /// Every desired spec, sorted by id.
    public func specs() -> [ProcessSpec] {
        desired.withLock { $0.values.map(\.spec) }.sorted { $0.id < $1.id }
    }

    /// When the scheduled job `id` runs next; `nil` for a process that is not a job.
    public func nextRun(of id: String) -> Date? {
        jobs.nextRun(of: id)
    }

    /// Unix seconds at which the scheduled job `id` was first configured.
    func jobConfiguredAt(_ id: String) -> Double? {
        jobs.configuredAt(id)?.timeIntervalSince1970
    }

    /// Starts a desired process again whose worker ended (stopped by the operator, `restart:
    /// never`, terminal error). Returns `false` for an id that is not desired.
    func recreate(_ id: String) -> Bool {
        guard let wanted = desired.withLock({ $0[id]?.managed }) else { return false }
        engine.update(id, config: wanted, type: .create)
        return true
    }
}
