/// The order in which processes stop: dependents before what they depend on.
///
/// `levels[0]` holds every process nothing (among those stopping) depends on — dependents at the
/// top of a stack and every process without dependency relations, so a flat config stops in one
/// parallel level exactly as before. `levels[k]` holds the processes whose dependents are all in
/// earlier levels. Each level stops in parallel once the previous one is stopped.
public struct StopOrder: Sendable, Hashable {
    public let levels: [[String]]

    /// Orders `ids` by the edges of `graph` among them (edges to processes not stopping are
    /// ignored). A cycle, which validation refuses, cannot hang it: what is left goes last.
    public init(stopping ids: some Sequence<String>, graph: DependencyGraph) {
        let stopping = Set(ids)
        var dependencies: [String: Set<String>] = [:]
        var dependentCount: [String: Int] = Dictionary(uniqueKeysWithValues: stopping.map { ($0, 0) })
        for id in stopping {
            let direct = Set(graph.dependencies(of: id)).intersection(stopping).subtracting([id])
            guard !direct.isEmpty else { continue }
            dependencies[id] = direct
            for dependency in direct { dependentCount[dependency, default: 0] += 1 }
        }
        var levels: [[String]] = []
        var current = dependentCount.filter { $0.value == 0 }.map(\.key)
        var placed = 0
        while !current.isEmpty {
            levels.append(current.sorted())
            placed += current.count
            var next: [String] = []
            for id in current {
                for dependency in dependencies[id] ?? [] {
                    dependentCount[dependency, default: 0] -= 1
                    if dependentCount[dependency] == 0 { next.append(dependency) }
                }
            }
            current = next
        }
        if placed < stopping.count {
            let placedIDs = Set(levels.joined())
            levels.append(stopping.subtracting(placedIDs).sorted())
        }
        self.levels = levels
    }
}
