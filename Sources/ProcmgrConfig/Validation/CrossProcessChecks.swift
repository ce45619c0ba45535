/// Checks that involve more than one process: unique ids (replica ids
/// included), no two processes
/// on the same fixed port (or on the agent's own port), no log file written by
/// two processes. A hostname may be served by several processes: replicas
/// behind one name are what `GET /api/v1/routes?host=` returns endpoints for.
///
/// They read the raw nodes rather than built specs, so a collision is still
/// reported when one of the processes also has an unrelated problem.
///
/// `agent.ports.range` belongs to `port: auto`: a fixed port inside it is a
/// mistake (it would race the allocator, and at run time one of the two loses
/// its bind), and more `auto` processes than the range holds could never all
/// start. Both are known from the document, so both are refused here.
enum CrossProcessChecks {
    /// - Parameters:
    ///   - portRange: the auto range; `nil` when `agent.ports` is itself invalid.
    ///   - includeResources: also check ports and log files; off for
    ///     override entries, whose values may still be replaced by a merge.
    ///   - blameEachOverflow: report every `auto` process that does not fit, fitting them
    ///     first come first served, instead of the first one only: a fleet merge rejects the
    ///     processes a problem points at, and one per validation pass would take a pass each.
    static func check(_ processes: [ConfigNode], listen: ListenAddress?, portRange: PortRange?, baseDirectory: String?,
                      includeResources: Bool, blameEachOverflow: Bool = false, problems: inout Problems) {
        var ids: [String: ConfigPath] = [:]
        var ports: [Int: ConfigPath] = [:]
        var logFiles: [String: ConfigPath] = [:]
        var autoPorts: [(node: ConfigNode, count: Int)] = []

        for process in processes where process.entries != nil {
            if let idNode = process["id"], let id = idNode.stringValue {
                if let first = ids[id] {
                    problems.add(idNode, "\(idNode) is a duplicate of \(first)")
                } else {
                    ids[id] = idNode.path
                }
            }
            let replicas = replicaCount(process)
            guard includeResources else { continue }

            if let portNode = process["port"], case .integer(let port) = portNode.value, (1...65535).contains(port) {
                if let first = ports[port] {
                    problems.add(portNode, "\(port) is also the fixed port of \(first)")
                } else if let listen, Int(listen.port) == port {
                    problems.add(portNode, "\(port) is also the agent's listen port (agent.listen)")
                } else if let portRange, portRange.contains(UInt16(port)) {
                    problems.add(portNode, "\(port) is inside agent.ports.range (\(portRange)), which is kept for port: auto; "
                                 + "choose a port outside it or narrow the range")
                } else {
                    ports[port] = process.path
                }
            }
            if let portNode = process["port"], portNode.stringValue == "auto" {
                autoPorts.append((portNode, replicas ?? 1))
            }

            if let pathNode = process["log_file"]?["path"], let path = pathNode.stringValue, !path.isEmpty {
                let resolved = PathResolver.resolve(path, against: baseDirectory)
                if let first = logFiles[resolved] {
                    problems.add(pathNode, "\(pathNode) is also the log file of \(first)")
                } else {
                    logFiles[resolved] = process.path
                }
            }
        }
        checkReplicaIDs(processes, ids: ids, problems: &problems)
        if includeResources, let portRange {
            checkCapacity(autoPorts, portRange: portRange, listen: listen, blameEach: blameEachOverflow, problems: &problems)
        }
    }

    /// A valid `replicas:` count, else `nil`.
    private static func replicaCount(_ process: ConfigNode) -> Int? {
        guard case .integer(let count)? = process["replicas"]?.value, (1...ConfigDefaults.maxReplicas).contains(count) else { return nil }
        return count
    }

    /// Replica ids (`api.0`) must not be the id of another process.
    private static func checkReplicaIDs(_ processes: [ConfigNode], ids: [String: ConfigPath], problems: inout Problems) {
        for process in processes {
            guard let count = replicaCount(process), let id = process["id"]?.stringValue, let node = process["replicas"] else { continue }
            for index in 0..<count {
                if let other = ids["\(id).\(index)"] {
                    problems.add(node, "replica id \(id).\(index) is also the id at \(other)")
                }
            }
        }
    }

    /// One problem, at the first `auto` process the range has no port left for; with
    /// `blameEach`, one at every process that does not fit once the earlier ones took their ports.
    private static func checkCapacity(_ autoPorts: [(node: ConfigNode, count: Int)], portRange: PortRange, listen: ListenAddress?,
                                      blameEach: Bool, problems: inout Problems) {
        let listenInside = listen.map { portRange.contains($0.port) } ?? false
        let capacity = portRange.count - (listenInside ? 1 : 0)
        let total = autoPorts.reduce(0) { $0 + $1.count }
        guard total > capacity else { return }
        let holds = "agent.ports.range (\(portRange)) holds \(capacity) port\(capacity == 1 ? "" : "s")"
            + (listenInside ? " besides the agent's listen port" : "")
        let message = "\(total) processes use port: auto but \(holds); widen the range or give some processes fixed ports outside it"
        var used = 0
        for (node, count) in autoPorts {
            guard used + count > capacity else {
                used += count
                continue
            }
            problems.add(node, message)
            guard blameEach else { return }
        }
    }
}
