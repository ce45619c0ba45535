/// One desired-state key from etcd (SPEC §3.6): `{prefix}/nodes/{node}/processes/{id}`
/// (this agent only) or `{prefix}/all/processes/{id}` (every agent). The value is one
/// `processes[]` entry in JSON, checked by `ConfigLoader.mergeFleet`.
public struct FleetEntry: Sendable, Hashable {
    /// Which key family the entry came from; a `node` entry replaces the `all` entry of the same id.
    public enum Scope: String, Sendable {
        case node
        case all
    }

    /// The full etcd key: the document label of every problem in the value.
    public var key: String
    /// The key's last segment: the process id the value must have (or is given).
    public var id: String
    public var scope: Scope
    /// JSON of one `processes[]` entry, as stored.
    public var value: [UInt8]

    public init(key: String, id: String, scope: Scope, value: [UInt8]) {
        self.key = key
        self.id = id
        self.scope = scope
        self.value = value
    }
}

/// What `ConfigLoader.mergeFleet` made of a set of entries: the processes to run, and each
/// key left out with the reason, so one bad key never stops the rest of the fleet.
public struct FleetMerge: Sendable {
    /// The validated, merged set to run, sorted by id.
    public var specs: [ProcessSpec]
    /// Each rejected key (sorted by key) with every problem found in it.
    public var rejected: [(key: String, error: ConfigError)]

    public init(specs: [ProcessSpec], rejected: [(key: String, error: ConfigError)]) {
        self.specs = specs
        self.rejected = rejected
    }
}
