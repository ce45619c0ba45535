public import ProcmgrConfig

/// One dependency a process still waits for: the API's `waiting_for` entry.
public struct WaitingFor: Sendable, Hashable {
    /// The config id depended on.
    public var id: String
    public var condition: DependencyCondition
    /// Unix seconds at which the process began waiting for it.
    public var since: Double

    public init(id: String, condition: DependencyCondition, since: Double) {
        self.id = id
        self.condition = condition
        self.since = since
    }
}

/// Decides whether a process may start: every `depends_on` condition holds, for every replica of
/// a replicated dependency. A value type with no clock of its own (each call carries `now`, unix
/// seconds) and no I/O: the ``DependencyCoordinator`` reads the facts and acts on the verdict.
///
/// It remembers, per process and dependency, since when the condition has been unmet, so the
/// API and `procmgr_dependency_waiting_seconds` show how long a start has been blocked; a
/// condition that holds again forgets it, and one that then fails again starts a new count.
///
/// A dependency whose config id has no member left (scaled to zero replicas; or removed by a
/// reload, which validation allows only together with the `depends_on` entry, so the edge is gone
/// with the same graph) holds: nothing is left to wait for, and blocking forever on a process
/// that will never exist helps nobody. A member the engine does not know *yet* (created by the
/// same reload a moment later) does not hold: it is waited for.
public struct DependencyGate: Sendable {
    public enum Verdict: Sendable, Hashable {
        case satisfied
        /// The unmet dependencies, sorted by id.
        case waiting([WaitingFor])
    }

    public var graph: DependencyGraph
    /// Process id → dependency config id → since when it has been unmet.
    private var unmetSince: [String: [String: Double]] = [:]

    public init(graph: DependencyGraph = DependencyGraph()) {
        self.graph = graph
    }

    /// Evaluates every condition of `id` now; `facts` answers for one process id.
    public mutating func evaluate(_ id: String, now: Double, facts: (String) -> DependencyFacts?) -> Verdict {
        guard let edges = graph.edges[id] else {
            unmetSince[id] = nil
            return .satisfied
        }
        var previous = unmetSince[id] ?? [:]
        var unmet: [String: Double] = [:]
        var waiting: [WaitingFor] = []
        for edge in edges where !holds(edge, facts: facts) {
            let since = previous.removeValue(forKey: edge.dependency) ?? now
            unmet[edge.dependency] = since
            waiting.append(WaitingFor(id: edge.dependency, condition: edge.condition, since: since))
        }
        unmetSince[id] = unmet.isEmpty ? nil : unmet
        return waiting.isEmpty ? .satisfied : .waiting(waiting.sorted { $0.id < $1.id })
    }

    /// What `id` was found waiting for at its last evaluation (empty once satisfied or forgotten).
    public func waiting(_ id: String) -> [WaitingFor] {
        guard let unmet = unmetSince[id], let edges = graph.edges[id] else { return [] }
        return edges.compactMap { edge in unmet[edge.dependency].map { WaitingFor(id: edge.dependency, condition: edge.condition, since: $0) } }
            .sorted { $0.id < $1.id }
    }

    /// `id` no longer waits (its start went ahead, was cancelled, or it was removed).
    public mutating func forget(_ id: String) {
        unmetSince[id] = nil
    }

    private func holds(_ edge: DependencyGraph.Edge, facts: (String) -> DependencyFacts?) -> Bool {
        let members = graph.members[edge.dependency] ?? []
        return members.allSatisfy { member in facts(member).map(edge.condition.holds(for:)) ?? false }
    }
}
