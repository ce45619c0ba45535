/// What the agent does at start-up with processes left running by a previous
/// agent instance (found through `state_dir`).
public enum OrphanPolicy: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Stop them (default): the new agent starts everything fresh.
    case kill
    /// Take them over and supervise them as if this agent had started them.
    case adopt

    public var description: String { rawValue }
}
