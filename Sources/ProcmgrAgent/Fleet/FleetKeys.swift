/// The fleet's key layout in etcd (SPEC §3.6), for one agent's node:
///
///     {prefix}/nodes/{node}/processes/{id}   desired: this node's processes
///     {prefix}/all/processes/{id}            desired: every node's processes
///     {prefix}/agents/{node}                 registration, under the agent's lease
///     {prefix}/status/{node}/{id}            observed status, under the agent's lease
///
/// One place spells the layout, so the source, the registration, the status writer, discovery
/// and `procmgr fleet status` cannot disagree about it.
public struct FleetKeys: Sendable, Hashable {
    public let prefix: String
    public let node: String

    public init(prefix: String, node: String) {
        self.prefix = prefix
        self.node = node
    }

    /// Desired processes of this node only.
    public var nodeProcesses: String { "\(prefix)/nodes/\(node)/processes/" }
    /// Desired processes of every node.
    public var allProcesses: String { "\(prefix)/all/processes/" }
    /// Every agent's registration.
    public var agents: String { "\(prefix)/agents/" }
    /// This agent's registration.
    public var agent: String { agents + node }
    /// This node's status keys.
    public var nodeStatus: String { "\(prefix)/status/\(node)/" }
    /// Every node's status keys.
    public var allStatus: String { "\(prefix)/status/" }

    public func status(of id: String) -> String { nodeStatus + id }

    /// The process id a desired key names, when `key` is directly under `collection` (a key
    /// further down, `…/processes/a/b`, is not a process entry and is ignored).
    public static func id(of key: String, under collection: String) -> String? {
        guard key.hasPrefix(collection) else { return nil }
        let id = key.dropFirst(collection.count)
        guard !id.isEmpty, !id.contains("/") else { return nil }
        return String(id)
    }
}
