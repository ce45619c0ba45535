/// The schema rendering of the execution-context fields. `env` (rendered by `SchemaRendering`)
/// is the effective environment, env file contents included, and `env_file` is listed beside
/// it: validated back, the files are read again and overlaid by that `env`, so the result is
/// equal while the files are unchanged, and still equal when they cannot be read (`.schema`).
extension ProcessSpec {
    func appendContextFields(to node: inout ConfigNode) {
        if let user { node.append("user", .string(user)) }
        if let group { node.append("group", .string(group)) }
        if !envFiles.isEmpty { node.append("env_file", .init(.sequence(envFiles.map(ConfigNode.string)))) }
        if let limits { node.append("limits", limits.configNode) }
        if let hooks { node.append("hooks", hooks.configNode) }
    }
}

extension LimitsSpec {
    public var configNode: ConfigNode {
        var node = ConfigNode.mapping([:])
        if let memoryBytes { node.append("memory", Self.bytes(memoryBytes)) }
        if let cpuCores { node.append("cpu", .init(.float(cpuCores))) }
        if let pids { node.append("pids", .init(.integer(pids))) }
        if let nofile { node.append("nofile", Self.count(nofile)) }
        if let nproc { node.append("nproc", Self.count(nproc)) }
        if let core { node.append("core", Self.bytes(core)) }
        if let memlock { node.append("memlock", Self.bytes(memlock)) }
        if let stack { node.append("stack", Self.bytes(stack)) }
        return node
    }

    private static func bytes(_ value: UInt64) -> ConfigNode {
        guard value != unlimited, let bytes = Int(exactly: value) else { return .string("unlimited") }
        return .string(ByteSize.format(bytes))
    }

    private static func count(_ value: UInt64) -> ConfigNode {
        guard value != unlimited, let number = Int(exactly: value) else { return .string("unlimited") }
        return .init(.integer(number))
    }
}

extension HooksSpec {
    public var configNode: ConfigNode {
        var node = ConfigNode.mapping([:])
        if let preStart { node.append("pre_start", .init(.sequence(preStart.map(ConfigNode.string)))) }
        if let postStop { node.append("post_stop", .init(.sequence(postStop.map(ConfigNode.string)))) }
        node.append("timeout", .duration(timeout))
        return node
    }
}
