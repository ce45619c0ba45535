/// One target group of Prometheus' `http_sd` format: `GET /api/v1/fleet/targets` answers a list
/// of these, one per registered agent, so one scrape job discovers the whole fleet.
public struct FleetTargetGroup: Codable, Sendable, Hashable {
    /// `host:port` of the agent's API (its `/metrics`).
    public var targets: [String]
    /// `node` and `version`, plus `__scheme__` for an agent served over https.
    public var labels: [String: String]

    public init(targets: [String], labels: [String: String]) {
        self.targets = targets
        self.labels = labels
    }
}

/// What the agent can say about the fleet's agents.
public enum FleetTargetsAnswer: Sendable {
    /// This agent has no `agent.etcd`: 404.
    case notConfigured
    /// Configured, but the registrations were not read yet (etcd unreachable since start): 503,
    /// never an empty list, which would make Prometheus drop every target.
    case notLoaded
    case targets([FleetTargetGroup])
}
