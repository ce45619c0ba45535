/// Renders the models back into the config schema with every default made
/// explicit — the effective configuration. Used for `Codable` output (the
/// HTTP API can show exactly what the agent runs) and guaranteed to validate
/// back to an equal model.
extension ProcessSpec {
    public var configNode: ConfigNode {
        var node = ConfigNode.mapping([
            "id": .string(id),
            "command": .init(.sequence(command.map(ConfigNode.string))),
            "env": .init(.mapping(env.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })),
            "working_dir": .string(workingDir),
            "port": port.configNode,
            "hostnames": .init(.sequence(hostnames.map(ConfigNode.string))),
            "restart": .string(restart.rawValue),
            "backoff": backoff.configNode,
            "grace_period": .duration(gracePeriod),
            "stop_signal": .string(stopSignal.rawValue),
        ])
        if let liveness { node.append("liveness", liveness.configNode) }
        if let readiness { node.append("readiness", readiness.configNode) }
        if let startup { node.append("startup", startup.configNode) }
        if let heartbeat { node.append("heartbeat", heartbeat.configNode) }
        if let logFile { node.append("log_file", logFile.configNode) }
        appendStackFields(to: &node)
        appendContextFields(to: &node)
        return node
    }
}

extension PortSpec {
    public var configNode: ConfigNode {
        switch self {
        case .auto: .string("auto")
        case .none: .string("none")
        case .fixed(let port): .init(.integer(Int(port)))
        }
    }
}

extension BackoffSpec {
    public var configNode: ConfigNode {
        .mapping([
            "initial": .duration(initial),
            "max": .duration(max),
            "multiplier": .init(.float(multiplier)),
            "jitter": .init(.float(jitter)),
            "reset_after": .duration(resetAfter),
        ])
    }
}

extension HeartbeatSpec {
    public var configNode: ConfigNode {
        .mapping(["interval": .duration(interval), "timeout": .duration(timeout)])
    }
}

extension LogFileSpec {
    public var configNode: ConfigNode {
        .mapping([
            "path": .string(path),
            "max_bytes": .string(ByteSize.format(maxBytes)),
            "keep": .init(.integer(keep)),
        ])
    }
}

extension AgentSettings {
    public var configNode: ConfigNode {
        var node = ConfigNode.mapping([
            "listen": .string(listen.description),
            "ports": .mapping(["range": .string(portRange.description)]),
            "shutdown_grace_period": .duration(shutdownGracePeriod),
            "orphans": .string(orphans.rawValue),
            "state_dir": .string(stateDir),
            "log_child_output": .init(.bool(logChildOutput)),
        ])
        if let tokenFile { node.append("token_file", .string(tokenFile)) }
        if let admin { node.append("admin", admin.configNode) }
        if let etcd { node.append("etcd", etcd.configNode) }
        return node
    }
}

extension AdminSourceSpec {
    public var configNode: ConfigNode {
        var node = ConfigNode.mapping(["url": .string(url.absoluteString)])
        if let tokenFile { node.append("token_file", .string(tokenFile)) }
        node.append("poll_interval", .duration(pollInterval))
        node.append("cache_file", .string(cacheFile))
        return node
    }
}

extension EtcdSourceSpec {
    public var configNode: ConfigNode {
        var node = ConfigNode.mapping([
            "endpoints": .init(.sequence(endpoints.map { .string($0.absoluteString) })),
            "prefix": .string(prefix),
            "node": .string(self.node),
            "lease_ttl": .duration(leaseTTL),
        ])
        if let username { node.append("username", .string(username)) }
        if let passwordFile { node.append("password_file", .string(passwordFile)) }
        if let tls {
            var tlsNode = ConfigNode.mapping([:])
            if let caFile = tls.caFile { tlsNode.append("ca_file", .string(caFile)) }
            if let certFile = tls.certFile { tlsNode.append("cert_file", .string(certFile)) }
            if let keyFile = tls.keyFile { tlsNode.append("key_file", .string(keyFile)) }
            node.append("tls", tlsNode)
        }
        node.append("cache_file", .string(cacheFile))
        if let advertiseURL { node.append("api_url", .string(advertiseURL.absoluteString)) }
        return node
    }
}

extension AgentConfig {
    /// The effective configuration. With a desired-state source (admin or etcd)
    /// `processes` holds the local override entries as written, since there are
    /// no complete specs to show.
    public var configNode: ConfigNode {
        let processNodes = agent.admin == nil && agent.etcd == nil ? processes.map(\.configNode) : overrides
        return .mapping(["agent": agent.configNode, "processes": .init(.sequence(processNodes))])
    }
}

extension ConfigNode {
    static func string(_ text: String) -> ConfigNode { ConfigNode(.string(text)) }

    static func duration(_ duration: Duration) -> ConfigNode { .string(DurationText.format(duration)) }

    /// Adds a key to a mapping node (no-op for other kinds).
    mutating func append(_ key: String, _ value: ConfigNode) {
        guard case .mapping(var entries) = self.value else { return }
        entries.append(Entry(key: key, value: value))
        self.value = .mapping(entries)
    }
}
