/// Expanding a replicated process into its replicas.
extension ProcessSpec {
    /// One replica: id `{id}.{index}`, `${REPLICA}` replaced by `index` in the
    /// command, the env values and the working directory, `replicaOf` and
    /// `replicaIndex` set, `replicas` cleared (a replica is one process).
    ///
    /// In the command, `${PORT}` and the escape `$${` are left for
    /// `resolvedCommand`. Env values and the working directory are otherwise
    /// literal, so there only `${REPLICA}` is replaced and `$${REPLICA}` is
    /// the way to write a literal `${REPLICA}`; every other `$` stays as written.
    public func replica(_ index: Int) -> ProcessSpec {
        var copy = self
        let value = String(index)
        copy.id = "\(id).\(index)"
        copy.command = command.map { ArgumentTemplate.substitute("REPLICA", with: value, in: $0) }
        copy.env = env.mapValues { Self.substituteLiteral($0, value) }
        copy.workingDir = Self.substituteLiteral(workingDir, value)
        copy.replicas = nil
        copy.replicaOf = id
        copy.replicaIndex = index
        return copy
    }

    private static func substituteLiteral(_ text: String, _ value: String) -> String {
        guard text.contains("${REPLICA}") else { return text }
        let escaped = "$${REPLICA}"
        return text.components(separatedBy: escaped)
            .map { $0.replacingOccurrences(of: "${REPLICA}", with: value) }
            .joined(separator: "${REPLICA}")
    }
}
