/// Why the admin source could not produce a body, worded for the operator.
///
/// The same struct covers one failed poll (logged and counted, the agent keeps its last good
/// config) and the startup failure of `AdminSource.initial(accept:)` (the agent has nothing to
/// run). `message` always names the URL or file involved and, where there is one, the fix.
public struct AdminSourceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A struct with static members rather than an enum so categories can be added without
    /// breaking exhaustive switches.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String

        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// Connecting or talking to the service failed (refused, reset, DNS, TLS).
        public static let unreachable = Code("unreachable")
        /// The service did not answer (head and whole body) within the timeout.
        public static let timeout = Code("timeout")
        /// The service answered with a status other than 200 or 304.
        public static let badStatus = Code("bad_status")
        /// The body is larger than the configured limit.
        public static let bodyTooLarge = Code("body_too_large")
        /// `admin.token_file` is missing, unreadable, empty or not a valid header value.
        public static let token = Code("token")
        /// At startup: neither the service nor the cache produced a body the agent accepted.
        public static let noConfig = Code("no_config")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
