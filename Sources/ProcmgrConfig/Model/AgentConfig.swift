/// A whole validated configuration: the agent's settings and its processes.
///
/// Without a desired-state source, `processes` is the complete desired state.
/// With `agent.admin` or `agent.etcd` set, the local `processes:` entries are
/// *overrides* merged over whatever the source supplies, so they cannot be
/// turned into `ProcessSpec`s on their own: `processes` is then empty and
/// `overrides` holds the (already checked) entries for
/// `ConfigLoader.mergeAdmin(response:into:)` / `ConfigLoader.mergeFleet(_:into:scope:)`.
public struct AgentConfig: Sendable, Hashable {
    public var agent: AgentSettings
    public var processes: [ProcessSpec]
    /// In admin or etcd mode, the local file's process entries as parsed (already
    /// checked as overrides), kept for merging with the source's entries; empty
    /// without a source. Compared by content only.
    public var overrides: [ConfigNode]
    /// Directory relative paths were resolved against (the config file's),
    /// also used for paths in admin responses; `nil` when parsed from data
    /// without one, in which case paths are kept as written.
    public var baseDirectory: String?

    public init(agent: AgentSettings = AgentSettings(), processes: [ProcessSpec] = [],
                overrides: [ConfigNode] = [], baseDirectory: String? = nil) {
        self.agent = agent
        self.processes = processes
        self.overrides = overrides
        self.baseDirectory = baseDirectory
    }

    /// Every env file the processes read, for the agent's file watcher: a change to one is a
    /// config change for the processes that read it. Empty in admin mode (the files come with
    /// the merged specs there: `[ProcessSpec].watchedFiles`).
    public var watchedFiles: [String] { processes.watchedFiles }

    /// The process with `id`, if configured.
    public func process(id: String) -> ProcessSpec? {
        processes.first { $0.id == id }
    }
}

extension Sequence<ProcessSpec> {
    /// The env files these specs read, each once, in first-use order.
    public var watchedFiles: [String] {
        var seen = Set<String>()
        return flatMap(\.envFiles).filter { seen.insert($0).inserted }
    }
}
