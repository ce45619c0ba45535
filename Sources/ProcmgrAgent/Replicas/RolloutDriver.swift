public import Logging
public import ProcmgrEngine
public import ProcmgrRuntime
import ProcmgrSupport

/// Performs rolling restarts: feeds each replicated process's ``RollingUpdate`` with what the
/// runtime and the readiness source say, and sends the engine the new config of the replicas it
/// releases. Driven by events only (``observe(_:)`` whenever a process's program or readiness
/// changes), never by polling.
///
/// ``observe(_:)`` only queues the id: the runtime reports health from inside its own lock, and
/// reading the runtime back from there would deadlock. ``run()`` takes the queue, and no lock of
/// this driver is held while the runtime, the readiness source or the engine is asked.
public final class RolloutDriver: Sendable {
    private struct Rollout: Sendable {
        var update: RollingUpdate
        /// The newest config of every replica in the rollout.
        var targets: [String: ManagedProcess]
        let startedAt: ContinuousClock.Instant
    }

    private struct State: Sendable {
        /// By config id.
        var rollouts: [String: Rollout] = [:]
        /// Replica id → config id, for the replicas of a rollout in progress.
        var groups: [String: String] = [:]
    }

    private let engine: AgentEngine
    private let runtime: ProcessRuntime
    private let readiness: any ServingReadiness
    private let logger: Logger
    private let state = LockedState(State())
    private let events: AsyncStream<String>
    private let eventsContinuation: AsyncStream<String>.Continuation

    public init(engine: AgentEngine, runtime: ProcessRuntime, readiness: any ServingReadiness, logger: Logger) {
        self.engine = engine
        self.runtime = runtime
        self.readiness = readiness
        self.logger = logger
        (events, eventsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Handles observed ids until cancelled; part of the agent's task group.
    public func run() async {
        for await id in events {
            let member = state.withLock { state -> (group: String, target: ManagedProcess)? in
                guard let group = state.groups[id], let target = state.rollouts[group]?.targets[id] else { return nil }
                return (group, target)
            }
            guard let member else { continue }
            advance(member.group, with: observation(of: id, target: member.target))
        }
    }

    /// Starts the rolling restart of `group`'s replicas to `targets` (in index order), replacing
    /// a rollout in progress: replicas already running their newest config are not restarted
    /// again.
    func roll(_ group: String, targets: [(id: String, config: ManagedProcess)], maxUnavailable: Int) {
        let observations = targets.map { observation(of: $0.id, target: $0.config) }
        state.withLock { state in
            if let previous = state.rollouts[group] {
                for id in previous.targets.keys { state.groups[id] = nil }
            }
            let rollout = Rollout(
                update: RollingUpdate(replicas: observations, maxUnavailable: maxUnavailable),
                targets: Dictionary(targets.map { ($0.id, $0.config) }, uniquingKeysWith: { _, last in last }),
                startedAt: .now)
            for id in rollout.targets.keys { state.groups[id] = group }
            state.rollouts[group] = rollout
        }
        logger.notice("rolling restart started", metadata: [
            "process": "\(group)", "replicas": "\(targets.count)", "max_unavailable": "\(max(1, maxUnavailable))"])
        advance(group, with: nil)
    }

    /// Drops `group`'s rollout (the process was removed or is no longer replicated).
    func cancel(_ group: String) {
        state.withLock { state in
            guard let rollout = state.rollouts.removeValue(forKey: group) else { return }
            for id in rollout.targets.keys { state.groups[id] = nil }
        }
    }

    /// Takes replicas that are no longer desired (scaled down, removed) out of their rollouts,
    /// so none is started again by it.
    func forget(_ ids: [String]) {
        let groups = state.withLock { state -> Set<String> in
            var touched: Set<String> = []
            for id in ids {
                guard let group = state.groups.removeValue(forKey: id) else { continue }
                state.rollouts[group]?.update.remove(id)
                state.rollouts[group]?.targets[id] = nil
                touched.insert(group)
            }
            return touched
        }
        for group in groups { advance(group, with: nil) }
    }

    /// The process's program or readiness may have changed: ``run()`` re-observes it and releases
    /// the next replicas its rollout allows. Safe to call from any lock; never blocks.
    public func observe(_ id: String) {
        eventsContinuation.yield(id)
    }

    /// One step of `group`'s rollout: record `observation`, release what may go now, and finish
    /// the rollout once every replica runs the new config and is ready.
    private func advance(_ group: String, with observation: RollingUpdate.Observation?) {
        let step = state.withLock { state -> (released: [(String, ManagedProcess)], progress: String, finished: Rollout?)? in
            guard var rollout = state.rollouts[group] else { return nil }
            if let observation { rollout.update.observe(observation) }
            let released = rollout.update.next().compactMap { next in rollout.targets[next].map { (next, $0) } }
            let progress = "\(rollout.update.updatedCount)/\(rollout.update.replicaCount)"
            guard rollout.update.isComplete else {
                state.rollouts[group] = rollout
                return (released, progress, nil)
            }
            state.rollouts[group] = nil
            for member in rollout.targets.keys { state.groups[member] = nil }
            return (released, progress, rollout)
        }
        guard let step else { return }
        perform(step.released, group: group, progress: step.progress)
        if let finished = step.finished {
            logger.notice("rolling restart complete", metadata: [
                "process": "\(group)", "replicas": "\(finished.update.replicaCount)",
                "elapsed": "\(finished.startedAt.duration(to: .now))"])
        }
    }

    /// Whether `group` has a rollout in progress.
    public func isRolling(_ group: String) -> Bool {
        state.withLock { $0.rollouts[group] != nil }
    }

    private func observation(of id: String, target: ManagedProcess) -> RollingUpdate.Observation {
        RollingUpdate.Observation(
            id: id, onNewConfig: runtime.runningConfig(of: id) == target, ready: readiness.isServing(id))
    }

    private func perform(_ released: [(String, ManagedProcess)], group: String, progress: String) {
        for (id, config) in released {
            // A worker past running (stopped by the operator, ended) cannot take an update.
            let type: UpdateType = (engine.status(of: id).map { $0.state >= .terminating } ?? true) ? .create : .update
            logger.notice("rolling restart: updating replica", metadata: [
                "process": "\(group)", "replica": "\(id)", "updated_before": "\(progress)"])
            engine.update(id, config: config, type: type)
        }
    }
}
