/// The schema rendering of the service-stack fields, split from
/// `SchemaRendering` to keep each file to one concern. Like the rest, every
/// default is written out, and the result validates back to an equal spec.
extension ProcessSpec {
    func appendStackFields(to node: inout ConfigNode) {
        if !dependsOn.isEmpty {
            node.append("depends_on", .init(.mapping(dependsOn.sorted { $0.key < $1.key }.map { entry in
                .init(key: entry.key, value: .mapping([
                    "condition": .string(entry.value.condition.rawValue),
                    "restart": .init(.bool(entry.value.restart)),
                ]))
            })))
        }
        if let notify {
            var block = ConfigNode.mapping(["access": .string(notify.access.rawValue)])
            if let watchdog = notify.watchdog { block.append("watchdog", .duration(watchdog)) }
            node.append("notify", block)
        }
        if let replicas { node.append("replicas", .init(.integer(replicas))) }
        node.append("update", .mapping(["max_unavailable": .init(.integer(update.maxUnavailable))]))
        if let schedule {
            node.append("schedule", .string(schedule.cron.text))
            node.append("time_zone", .string(schedule.timeZone))
            node.append("concurrency", .string(schedule.concurrency.rawValue))
        }
    }
}

extension ProbeSpec.Port {
    public var configNode: ConfigNode {
        switch self {
        case .processPort: .string("auto")
        case .fixed(let port): .init(.integer(Int(port)))
        }
    }
}

extension ProbeSpec {
    public var configNode: ConfigNode {
        let actionNode: (String, ConfigNode) = switch action {
        case .http(let path, let port, let headers):
            ("http", .mapping([
                "path": .string(path),
                "port": port.configNode,
                "headers": .init(.mapping(headers.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })),
            ]))
        case .tcp(let port): ("tcp", .mapping(["port": port.configNode]))
        case .exec(let command): ("exec", .mapping(["command": .init(.sequence(command.map(ConfigNode.string)))]))
        }
        return .mapping([
            actionNode.0: actionNode.1,
            "interval": .duration(interval),
            "timeout": .duration(timeout),
            "failure_threshold": .init(.integer(failureThreshold)),
            "success_threshold": .init(.integer(successThreshold)),
            "initial_delay": .duration(initialDelay),
        ])
    }
}
