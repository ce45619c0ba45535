/// `depends_on` across processes: every dependency names a configured id,
/// no process depends on itself, nothing waits for `completed_successfully`
/// of a process that restarts `always` (it would never complete), and there
/// is no cycle. A cycle is one problem naming every member in order, at the
/// `depends_on` of its first member in the document, with the path of each
/// edge: `processes[0].depends_on: dependency cycle a → b → a (…)`.
///
/// Reads raw nodes, like `CrossProcessChecks`, so a dependency problem is
/// reported even when a process has unrelated problems too.
enum DependencyChecks {
    private struct Edge {
        var target: Int
        var node: ConfigNode
    }

    static func check(_ processes: [ConfigNode], problems: inout Problems) {
        var indexByID: [String: Int] = [:]
        for (index, process) in processes.enumerated() {
            if let id = process["id"]?.stringValue, indexByID[id] == nil { indexByID[id] = index }
        }
        var edges: [[Edge]] = Array(repeating: [], count: processes.count)
        for (index, process) in processes.enumerated() {
            guard let dependsOn = process["depends_on"], !dependsOn.isNull else { continue }
            for (id, node, condition) in dependencies(dependsOn) {
                guard let target = indexByID[id] else {
                    problems.add(node, "unknown dependency \(ConfigNode.quoted(id)) (no process has this id; "
                                 + "a replicated process is named by its config id)")
                    continue
                }
                if target == index {
                    problems.add(node, "\(process["id"]?.description ?? id) depends on itself")
                    continue
                }
                if let condition, condition.stringValue == DependencyCondition.completedSuccessfully.rawValue {
                    let restart = processes[target]["restart"]?.stringValue ?? ConfigDefaults.restart.rawValue
                    if restart == RestartPolicy.always.rawValue {
                        problems.add(condition, "\(ConfigNode.quoted(id)) restarts always, so it never completes "
                                     + "(give it restart: never or on-failure)")
                    }
                }
                edges[index].append(Edge(target: target, node: node))
            }
        }
        for cycle in cycles(edges) {
            let names = (cycle + [cycle[0]]).map { processes[$0.from]["id"]?.stringValue ?? "?" }
            let first = cycle[0].from
            let path = processes[first]["depends_on"]?.path ?? processes[first].path.appending(key: "depends_on")
            problems.add(path, "dependency cycle \(names.joined(separator: " → ")) (\(cycle.map { $0.edge.node.path.description }.joined(separator: ", ")))",
                         location: processes[first]["depends_on"]?.location)
        }
    }

    /// `(id, node to report at, condition node)` for the mapping and the list form.
    private static func dependencies(_ node: ConfigNode) -> [(String, ConfigNode, ConfigNode?)] {
        if let elements = node.elements {
            return elements.compactMap { element in element.stringValue.map { ($0, element, nil) } }
        }
        return (node.entries ?? []).map { ($0.key, $0.value, $0.value["condition"]) }
    }

    /// One cycle per back edge of a depth-first search in document order,
    /// each as the edges from its first member around to it again.
    private static func cycles(_ edges: [[Edge]]) -> [[(from: Int, edge: Edge)]] {
        enum Mark { case unvisited, onPath, done }
        var marks = Array(repeating: Mark.unvisited, count: edges.count)
        var found: [[(from: Int, edge: Edge)]] = []
        for root in edges.indices where marks[root] == .unvisited {
            // Iterative so a long dependency chain cannot exhaust a task's stack.
            var path: [(node: Int, next: Int)] = [(root, 0)]
            marks[root] = .onPath
            while let top = path.last {
                guard top.next < edges[top.node].count else {
                    marks[top.node] = .done
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let edge = edges[top.node][top.next]
                switch marks[edge.target] {
                case .unvisited:
                    marks[edge.target] = .onPath
                    path.append((edge.target, 0))
                case .onPath:
                    guard let start = path.firstIndex(where: { $0.node == edge.target }) else { continue }
                    let members = path[start...]
                    // Each member's edge on the path is the one taken last (`next - 1`).
                    var cycle = members.dropLast().map { (from: $0.node, edge: edges[$0.node][$0.next - 1]) }
                    cycle.append((from: top.node, edge: edge))
                    found.append(cycle)
                case .done:
                    continue
                }
            }
        }
        return found
    }
}
