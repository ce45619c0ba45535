/// The error thrown by every loading entry point: a category plus the full
/// list of problems found, so a caller can show them all at once instead of
/// fixing one, retrying and finding the next.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What stopped loading. A struct with static members rather than an enum
    /// so new categories can be added without breaking exhaustive switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The file could not be read (missing, permissions, not UTF-8).
        public static let unreadable = Code("unreadable")
        /// The text is not well-formed YAML/JSON, or repeats a mapping key.
        public static let syntax = Code("syntax")
        /// The file or document is over a reader limit (`ReadLimits`): its
        /// size, nesting depth or number of nodes.
        public static let limit = Code("limit")
        /// The document is well-formed but does not satisfy the schema.
        public static let invalid = Code("invalid")

        public var description: String { rawValue }
    }

    public var code: Code
    /// Every problem found, never empty: the agent block first, then each
    /// process in list order (its fields in schema order), then checks across
    /// processes (duplicate ids, port/hostname/log-file collisions), then —
    /// with `ValidationScope.schemaAndFilesystem` — the files the config names.
    public var problems: [ConfigProblem]

    public init(code: Code, problems: [ConfigProblem]) {
        self.code = code
        self.problems = problems
    }

    /// Problem lines, one per line.
    public var lines: [String] { problems.map(\.description) }

    /// One problem per line.
    public var description: String { lines.joined(separator: "\n") }
}
