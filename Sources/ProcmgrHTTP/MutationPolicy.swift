/// Who may call the mutating endpoints (restart, stop, reload) and read process output (`/logs`).
///
/// Decided from the configuration, not per connection: what matters is who *could* reach the
/// listener. A tokenless agent on a loopback listener is the single-user default and stays
/// convenient; a tokenless agent on a network-facing listener would let anyone on the network
/// stop processes, so it refuses mutations instead of trusting where a request seems to come
/// from. The token itself is read at each request (``APIToken``), so a rotated token takes
/// effect at once.
struct MutationPolicy: Sendable {
    /// Whether only this machine can connect (decides the tokenless behaviour).
    let loopback: Bool
    let token: APIToken

    init(host: String, token: APIToken) {
        loopback = LoopbackAddress.isLoopback(host: host)
        self.token = token
    }

    /// What to do with a mutating request carrying this `Authorization` header value.
    func decide(authorization: String?) -> Decision {
        guard let expected = token.bearer else { return loopback ? .allow : .forbidden }
        return Self.check(authorization, against: expected)
    }

    /// What to do with a request for process output. Child output can carry secrets (a printed
    /// connection string), so on a listener others can reach it is behind the token when one is
    /// configured; without a token it stays readable as before (the README says so).
    func decideRead(authorization: String?) -> Decision {
        guard !loopback, let expected = token.bearer else { return .allow }
        return Self.check(authorization, against: expected)
    }

    private static func check(_ authorization: String?, against expected: BearerToken) -> Decision {
        guard let presented = BearerToken.credentials(fromAuthorization: authorization),
            expected.matches(presented)
        else { return .unauthorized }
        return .allow
    }

    enum Decision: Equatable {
        case allow
        /// 401 with `WWW-Authenticate: Bearer`.
        case unauthorized
        /// 403: mutations are off on this listener until a token is configured.
        case forbidden
    }
}
