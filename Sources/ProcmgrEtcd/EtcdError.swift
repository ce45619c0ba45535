/// Why an etcd call failed. `message` names the endpoint(s), the HTTP status and etcd's own text.
public struct EtcdError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No endpoint answered (refused, reset, no leader); the message lists each endpoint's failure.
        case unavailable
        /// Every endpoint tried ran out of time.
        case timeout
        /// Wrong or missing credentials (auth is enabled), or the token could not be renewed.
        case unauthenticated
        /// The requested revision was compacted away: re-read the current state.
        case compacted
        /// The lease expired or was revoked.
        case leaseNotFound
        /// etcd answered something this client cannot read.
        case invalidResponse
        /// etcd refused the request (invalid argument, permission denied, too many operations).
        case rejected
        /// A response body or watch message exceeded this client's limit.
        case tooLarge
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "etcd \(code.rawValue): \(message)" }
}
