/// When a process that exited is started again.
public enum RestartPolicy: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Restart after any exit.
    case always
    /// Restart only after a non-zero exit or death by signal.
    case onFailure = "on-failure"
    /// Never restart; the process stays exited.
    case never

    public var description: String { rawValue }
}
