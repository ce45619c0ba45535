/// One thing wrong with a configuration document: where it is and what was
/// expected there. Rendered as `processes[2].grace_period: "10x" is not a
/// duration (e.g. 500ms, 10s, 2m)`.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is; the document root for problems about the whole
    /// document (syntax errors, unreadable files).
    public var path: ConfigPath
    /// What is wrong, phrased to follow `path: `.
    public var message: String
    /// Line and column in the source text, when known. Not part of
    /// `description`, which speaks in paths; tools may append it.
    public var location: SourceLocation?

    public init(path: ConfigPath, message: String, location: SourceLocation? = nil) {
        self.path = path
        self.message = message
        self.location = location
    }

    /// `path: message`; a root-level problem of the local file is the message
    /// alone, one of the admin document is prefixed `admin: `.
    public var description: String {
        let prefix = path.description
        return prefix.isEmpty ? message : "\(prefix): \(message)"
    }
}
