/// Who may call the mutating endpoints (restart, stop, reload).
///
/// Decided once from the configuration, not per connection: what matters is
/// who *could* reach the listener. A tokenless agent on a loopback listener is
/// the single-user default and stays convenient; a tokenless agent on a
/// network-facing listener would let anyone on the network stop processes, so
/// it refuses instead of trusting where a request seems to come from.
enum MutationPolicy: Sendable, Equatable {
    /// No token and a loopback listener: everyone who can connect is local.
    case allowUnauthenticated
    /// No token and a listener others can reach: refuse with 403.
    case refuse
    /// `Authorization: Bearer <token>` required, else 401.
    case requireToken(BearerToken)

    /// An empty token counts as none: accepting `Bearer ` with nothing after
    /// it would be a token in name only.
    init(host: String, token: String?) {
        if let token, !token.isEmpty {
            self = .requireToken(BearerToken(token))
        } else if LoopbackAddress.isLoopback(host: host) {
            self = .allowUnauthenticated
        } else {
            self = .refuse
        }
    }

    /// What to do with a request carrying this `Authorization` header value.
    func decide(authorization: String?) -> Decision {
        switch self {
        case .allowUnauthenticated:
            return .allow
        case .refuse:
            return .forbidden
        case .requireToken(let expected):
            guard let presented = BearerToken.credentials(fromAuthorization: authorization),
                expected.matches(presented)
            else { return .unauthorized }
            return .allow
        }
    }

    enum Decision: Equatable {
        case allow
        /// 401 with `WWW-Authenticate: Bearer`.
        case unauthorized
        /// 403: mutations are off on this listener until a token is configured.
        case forbidden
    }
}
