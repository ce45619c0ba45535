/// Checks that involve more than one process: unique ids, no two processes
/// on the same fixed port (or on the agent's own port), no log file written by
/// two processes. A hostname may be served by several processes: replicas
/// behind one name are what `GET /api/v1/routes?host=` returns endpoints for.
///
/// They read the raw nodes rather than built specs, so a collision is still
/// reported when one of the processes also has an unrelated problem.
/// Fixed ports inside `agent.ports.range` are allowed; the allocator must skip
/// them when handing out `auto` ports.
enum CrossProcessChecks {
    /// - Parameters:
    ///   - includeResources: also check ports and log files; off for
    ///     override entries, whose values may still be replaced by a merge.
    static func check(_ processes: [ConfigNode], listen: ListenAddress?, baseDirectory: String?,
                      includeResources: Bool, problems: inout Problems) {
        var ids: [String: ConfigPath] = [:]
        var ports: [Int: ConfigPath] = [:]
        var logFiles: [String: ConfigPath] = [:]

        for process in processes where process.entries != nil {
            if let idNode = process["id"], let id = idNode.stringValue {
                if let first = ids[id] {
                    problems.add(idNode, "\(idNode) is a duplicate of \(first)")
                } else {
                    ids[id] = idNode.path
                }
            }
            guard includeResources else { continue }

            if let portNode = process["port"], case .integer(let port) = portNode.value, (1...65535).contains(port) {
                if let first = ports[port] {
                    problems.add(portNode, "\(port) is also the fixed port of \(first)")
                } else if let listen, Int(listen.port) == port {
                    problems.add(portNode, "\(port) is also the agent's listen port (agent.listen)")
                } else {
                    ports[port] = process.path
                }
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
    }
}
