public import ProcmgrConfig

extension DependencyGraph {
    /// The graph of a desired process list, as the reconciler hands it to the engine: replicas
    /// already expanded (each with its `replica_of`), so a dependency on a replicated config id
    /// reaches every replica.
    public init(specs: [ProcessSpec]) {
        self.init(specs.map { spec in
            Node(
                id: spec.id, group: spec.replicaOf ?? spec.id,
                edges: spec.dependsOn.sorted { $0.key < $1.key }.map { dependency, entry in
                    Edge(dependency: dependency, condition: entry.condition, restart: entry.restart)
                })
        })
    }
}
