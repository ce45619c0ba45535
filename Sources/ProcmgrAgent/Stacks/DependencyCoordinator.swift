import Foundation
public import Logging
public import ProcmgrMetrics
import ProcmgrSupport
public import ProcmgrRuntime

/// Holds back the start of each process until its `depends_on` conditions hold, and restarts the
/// dependents that asked for it (`restart: true`) when a dependency starts a new program.
///
/// The runtime awaits ``waitUntilSatisfied(_:)`` before every start (its ``StartPrecondition``). A satisfied
/// process returns at once; the others park a continuation here, and whoever changes a fact a
/// condition reads — the runtime (spawn, exit, probe results), the engine (state entered), a reload
/// (``setGraph(_:)``) — calls ``conditionsChanged(_:)``, which re-evaluates only the processes
/// depending on that id and resumes those now satisfied. Facts are read under the lock and every
/// notifier changes its facts *before* it notifies, so no change can slip between an evaluation and
/// the registration of a waiter.
///
/// A wait ends in `CancellationError` when the sync awaiting it is cancelled (the engine cancels
/// it when the process is terminated) or when ``supersede(_:)`` lets it go for a newer config;
/// either way its continuation is removed first, so none is ever leaked or resumed twice.
///
/// While a process waits, the API shows ``waitingFor(_:)``, the gauge
/// `procmgr_dependency_waiting_seconds{process,dependency}` exists (set at scrape time from the
/// wait's start, removed when the wait ends), and the log says when a wait starts and ends.
public final class DependencyCoordinator: StartPrecondition {
    private struct Waiter {
        let token: UInt64
        let continuation: CheckedContinuation<Void, any Error>
        let since: Double
        /// What the wait was for when it began (each is reported ended with it).
        let waitingFor: [WaitingFor]
    }

    private struct State {
        var gate = DependencyGate()
        var waiters: [String: Waiter] = [:]
        var nextToken: UInt64 = 0
        /// The last program seen per process that a `restart: true` edge follows.
        var programs: [String: Int32] = [:]
        /// `procmgr_dependency_waiting_seconds` series that exist now.
        var exported: Set<Series> = []
    }

    /// The labels of one `procmgr_dependency_waiting_seconds` series.
    private struct Series: Hashable {
        let process: String
        let dependency: String

        var labels: [String] { [process, dependency] }
    }

    private enum Registration {
        case satisfied
        case cancelled
        case waiting([WaitingFor], displaced: Waiter?)
    }

    private let state = LockedState(State())
    private let source: any ConditionSource
    private let restartDependent: @Sendable (String) -> Void
    private let wallClock: @Sendable () -> Double
    private let logger: Logger
    private let waitingSeconds: GaugeFamily
    /// Told when a wait begins and ends (see ``observeWaits(_:)``).
    private let waitObserver = LockedState<(@Sendable (DependencyWaitChange) -> Void)?>(nil)

    /// - Parameters:
    ///   - source: the facts of each process.
    ///   - restartDependent: restarts a dependent's running program with reason `dependency`
    ///     (the runtime's ``ProcmgrRuntime/ProcessRuntime/requestDependencyRestart(of:)``).
    ///   - wallClock: unix seconds, for `since` (default: the real-time clock).
    public init(
        source: any ConditionSource, registry: MetricsRegistry, logger: Logger,
        wallClock: (@Sendable () -> Double)? = nil,
        restartDependent: @escaping @Sendable (String) -> Void
    ) throws(MetricsRegistryError) {
        self.source = source
        self.restartDependent = restartDependent
        self.wallClock = wallClock ?? { Date().timeIntervalSince1970 }
        self.logger = logger
        waitingSeconds = try registry.gaugeFamily(
            name: "procmgr_dependency_waiting_seconds",
            help: "How long a start has waited for a dependency's condition; present only while it waits.",
            labelNames: ["process", "dependency"])
        registry.addCollector { [weak self] in self?.exportWaits() }
    }

    // MARK: The start gate

    /// Returns once every `depends_on` condition of `id` holds (at once if they do now).
    /// - Throws: `CancellationError` when the calling task is cancelled or the wait is superseded.
    public func waitUntilSatisfied(_ id: String) async throws {
        let ticket = state.withLock { state -> UInt64? in
            guard state.gate.graph.edges[id] != nil else { return nil }
            state.nextToken += 1
            return state.nextToken
        }
        guard let token = ticket else { return }  // depends on nothing: no wait, no bookkeeping
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now = wallClock()
                let registration = state.withLock { state -> Registration in
                    // Checked under the lock: a cancellation handler that ran before this found
                    // no waiter to remove.
                    if Task.isCancelled { return .cancelled }
                    switch state.gate.evaluate(id, now: now, facts: source.facts(of:)) {
                    case .satisfied:
                        return .satisfied
                    case .waiting(let list):
                        let displaced = state.waiters.removeValue(forKey: id)
                        state.waiters[id] = Waiter(token: token, continuation: continuation, since: now, waitingFor: list)
                        return .waiting(list, displaced: displaced)
                    }
                }
                switch registration {
                case .satisfied:
                    continuation.resume()
                case .cancelled:
                    continuation.resume(throwing: CancellationError())
                case .waiting(let list, let displaced):
                    // One sync at a time per process: a second waiter means the first one's sync
                    // is gone; let it go rather than leak it.
                    if let displaced {
                        report(displaced, of: id, end: .cancelled)
                        displaced.continuation.resume(throwing: CancellationError())
                    }
                    for dependency in list {
                        logger.notice("waiting for \(dependency.id) \(dependency.condition.phrase)", metadata: ["process": "\(id)"])
                        report(DependencyWaitChange(process: id, dependency: dependency, end: nil))
                    }
                }
            }
        } onCancel: {
            if let waiter = removeWaiter(id, token: token) {
                logger.info("stopped waiting for dependencies", metadata: ["process": "\(id)"])
                report(waiter, of: id, end: .cancelled)
                waiter.continuation.resume(throwing: CancellationError())
            }
        }
    }

    /// Lets a waiting start of `id` go (with `CancellationError`): its config changed, and the
    /// engine runs the new one at once instead (the cancelled sync is moot to it).
    public func supersede(_ id: String) {
        if let waiter = removeWaiter(id, token: nil) {
            logger.info("stopped waiting for dependencies: the config changed", metadata: ["process": "\(id)"])
            report(waiter, of: id, end: .superseded)
            waiter.continuation.resume(throwing: CancellationError())
        }
    }

    // MARK: Changes

    /// Something a condition of `id` reads may have changed: re-evaluates the processes that
    /// depend on it, resumes those now satisfied, and restarts `restart: true` dependents when
    /// `id` runs a new program. Cheap for a process nothing depends on (one lookup).
    public func conditionsChanged(_ id: String) {
        let now = wallClock()
        let (resumed, restarts) = state.withLock { state -> ([(String, Waiter)], [String]) in
            let dependents = state.gate.graph.dependents(of: id)
            guard !dependents.isEmpty else { return ([], []) }
            let restarts = restartsDue(for: id, dependents: dependents, in: &state)
            var resumed: [(String, Waiter)] = []
            for dependent in dependents {
                guard state.waiters[dependent] != nil else { continue }
                if case .satisfied = state.gate.evaluate(dependent, now: now, facts: source.facts(of:)),
                   let waiter = state.waiters.removeValue(forKey: dependent) {
                    removeSeries(of: dependent, in: &state)
                    resumed.append((dependent, waiter))
                }
            }
            return (resumed, restarts)
        }
        finish(resumed, now: now)
        for dependent in restarts {
            logger.notice("restarting: a dependency started a new program (restart: true)", metadata: ["process": "\(dependent)", "dependency": "\(id)"])
            restartDependent(dependent)
        }
    }

    /// Takes the dependency map of a new config (a reload that only changes `depends_on` restarts
    /// nothing: running processes keep running) and re-evaluates every waiting start against it.
    public func setGraph(_ graph: DependencyGraph) {
        let now = wallClock()
        let resumed = state.withLock { state -> [(String, Waiter)] in
            state.gate.graph = graph
            state.programs = state.programs.filter { !graph.dependents(of: $0.key).isEmpty }
            var resumed: [(String, Waiter)] = []
            for id in Array(state.waiters.keys) {
                if case .satisfied = state.gate.evaluate(id, now: now, facts: source.facts(of:)),
                   let waiter = state.waiters.removeValue(forKey: id) {
                    removeSeries(of: id, in: &state)
                    resumed.append((id, waiter))
                }
            }
            return resumed
        }
        finish(resumed, now: now)
    }

    /// Calls `observer` when a start begins waiting for a dependency and when that wait ends,
    /// outside the coordinator's lock (the agent publishes `dependency_wait` events). One
    /// observer; a later call replaces it.
    public func observeWaits(_ observer: @escaping @Sendable (DependencyWaitChange) -> Void) {
        waitObserver.withLock { $0 = observer }
    }

    // MARK: Queries

    /// The dependency map of the config applied last.
    public var graph: DependencyGraph {
        state.withLock { $0.gate.graph }
    }

    /// What `id`'s start waits for now; empty when it is not waiting.
    public func waitingFor(_ id: String) -> [WaitingFor] {
        state.withLock { state in state.waiters[id] == nil ? [] : state.gate.waiting(id) }
    }

    /// Processes whose start waits now, sorted.
    public var waitingProcesses: [String] {
        state.withLock { $0.waiters.keys.sorted() }
    }

    // MARK: Internals

    private func removeWaiter(_ id: String, token: UInt64?) -> Waiter? {
        state.withLock { state -> Waiter? in
            guard let waiter = state.waiters[id], token == nil || waiter.token == token else { return nil }
            state.waiters[id] = nil
            state.gate.forget(id)
            removeSeries(of: id, in: &state)
            return waiter
        }
    }

    private func report(_ change: DependencyWaitChange) {
        waitObserver.withLock { $0 }?(change)
    }

    private func report(_ waiter: Waiter, of id: String, end: DependencyWaitChange.End) {
        guard let observer = waitObserver.withLock({ $0 }) else { return }
        for dependency in waiter.waitingFor { observer(DependencyWaitChange(process: id, dependency: dependency, end: end)) }
    }

    private func finish(_ resumed: [(String, Waiter)], now: Double) {
        for (id, waiter) in resumed {
            report(waiter, of: id, end: .satisfied)
            waiter.continuation.resume()
            let waited = (now - waiter.since).formatted(.number.precision(.fractionLength(3)))
            logger.notice("dependencies satisfied; starting", metadata: ["process": "\(id)", "waited_seconds": "\(waited)"])
        }
    }

    /// The `restart: true` dependents of `id` to restart because `id` now runs a program other
    /// than the one last seen.
    private func restartsDue(for id: String, dependents: [String], in state: inout State) -> [String] {
        let following = dependents.filter { state.gate.graph.edge(from: $0, to: id)?.restart == true }
        guard !following.isEmpty, let program = source.facts(of: id)?.program else { return [] }
        let previous = state.programs.updateValue(program, forKey: id)
        guard let previous, previous != program else { return [] }
        return following
    }

    private func removeSeries(of id: String, in state: inout State) {
        for series in state.exported where series.process == id {
            waitingSeconds.remove(series.labels)
            state.exported.remove(series)
        }
    }

    /// Sets the gauge of every wait from its start (scrape time), under the lock so a wait that
    /// ends meanwhile cannot leave a series behind.
    private func exportWaits() {
        let now = wallClock()
        state.withLock { state in
            var current: Set<Series> = []
            for id in state.waiters.keys {
                for waiting in state.gate.waiting(id) {
                    let series = Series(process: id, dependency: waiting.id)
                    current.insert(series)
                    waitingSeconds.labels(series.labels).set(max(0, now - waiting.since))
                }
            }
            for stale in state.exported.subtracting(current) { waitingSeconds.remove(stale.labels) }
            state.exported = current
        }
    }
}
