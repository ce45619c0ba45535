/// Why a mutating request (restart, stop, scale, reload) failed.
///
/// A struct with an extensible ``Code`` (the house style, after
/// swift-service-lifecycle) so a new failure kind is not a breaking change;
/// the server maps each code to one HTTP status.
public struct AgentActionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable classification; each maps to one HTTP status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// No process has the id (404).
        public static let notFound = Code("notFound")
        /// The new config was rejected; ``AgentActionError/problems`` says why (422).
        public static let invalidConfig = Code("invalidConfig")
        /// The action cannot run in the current state, e.g. a reload is already running (409).
        public static let conflict = Code("conflict")
        /// A parameter of the request is out of range; the message names it (400).
        public static let badRequest = Code("badRequest")
        /// The agent failed on its side (500).
        public static let `internal` = Code("internal")

        public var description: String { raw }
    }

    public let code: Code
    /// What the operator reads in the JSON `error` field.
    public let message: String
    /// One line per config problem (only for ``Code/invalidConfig``).
    public let problems: [String]

    public init(code: Code, message: String, problems: [String] = []) {
        self.code = code
        self.message = message
        self.problems = problems
    }

    /// The id is quoted cut to 64 characters (``EchoedInput``).
    public static func notFound(id: String) -> Self {
        Self(code: .notFound, message: "no process with id \"\(EchoedInput.excerpt(id))\"")
    }

    public static func invalidConfig(problems: [String]) -> Self {
        Self(code: .invalidConfig, message: "invalid config", problems: problems)
    }

    public static func conflict(_ message: String) -> Self {
        Self(code: .conflict, message: message)
    }

    public static func badRequest(_ message: String) -> Self {
        Self(code: .badRequest, message: message)
    }

    public static func `internal`(_ message: String) -> Self {
        Self(code: .internal, message: message)
    }

    public var description: String {
        problems.isEmpty ? "\(code): \(message)" : "\(code): \(message): \(problems.joined(separator: "; "))"
    }
}
