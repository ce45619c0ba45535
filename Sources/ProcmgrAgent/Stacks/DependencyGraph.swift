public import ProcmgrConfig

/// Who depends on whom, for the process ids the engine runs.
///
/// Built from the desired specs (after replica expansion) on every reload. A dependency is named
/// by a *config* id; a replicated config id stands for every one of its replicas (``members``), so
/// a condition on it holds only when it holds for each replica.
public struct DependencyGraph: Sendable, Hashable {
    /// One `depends_on` entry of a process.
    public struct Edge: Sendable, Hashable {
        /// The config id depended on (a replicated id means every replica).
        public var dependency: String
        public var condition: DependencyCondition
        /// Restart the dependent when a member of `dependency` starts a new program.
        public var restart: Bool

        public init(dependency: String, condition: DependencyCondition, restart: Bool = false) {
            self.dependency = dependency
            self.condition = condition
            self.restart = restart
        }
    }

    /// One process as the graph sees it.
    public struct Node: Sendable, Hashable {
        /// The process id (a replica's own id, `api.0`).
        public var id: String
        /// The config id it belongs to: a replica's `replica_of`, otherwise its own id.
        public var group: String
        public var edges: [Edge]

        public init(id: String, group: String? = nil, edges: [Edge] = []) {
            self.id = id
            self.group = group ?? id
            self.edges = edges
        }
    }

    /// Process id → what it depends on (only processes with at least one edge).
    public private(set) var edges: [String: [Edge]] = [:]
    /// Config id → the process ids standing for it.
    public private(set) var members: [String: [String]] = [:]
    /// Process id → the config id it belongs to.
    private var groups: [String: String] = [:]
    /// Config id → the processes that depend on it.
    private var dependentsOfGroup: [String: [String]] = [:]

    public init(_ nodes: [Node] = []) {
        for node in nodes {
            groups[node.id] = node.group
            members[node.group, default: []].append(node.id)
            guard !node.edges.isEmpty else { continue }
            edges[node.id] = node.edges
            for edge in node.edges { dependentsOfGroup[edge.dependency, default: []].append(node.id) }
        }
        for key in members.keys { members[key]?.sort() }
        for key in dependentsOfGroup.keys { dependentsOfGroup[key]?.sort() }
    }

    /// No process depends on anything: starts and stops are exactly as without the feature.
    public var isFlat: Bool { edges.isEmpty }

    /// The processes whose conditions name `id`'s config id.
    public func dependents(of id: String) -> [String] {
        guard let group = groups[id] else { return [] }
        return dependentsOfGroup[group] ?? []
    }

    /// The edge through which `dependent` depends on the config id of process `id`.
    public func edge(from dependent: String, to id: String) -> Edge? {
        guard let group = groups[id] else { return nil }
        return edges[dependent]?.first { $0.dependency == group }
    }

    /// The process ids `id` depends on directly (replicas expanded).
    public func dependencies(of id: String) -> [String] {
        (edges[id] ?? []).flatMap { members[$0.dependency] ?? [] }
    }
}
