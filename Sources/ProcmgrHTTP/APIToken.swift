import ProcmgrSupport

/// The API's bearer token, replaceable while the server runs.
///
/// The token file can be rotated (a secret manager writes a new one, the operator sends SIGHUP):
/// the agent re-reads it and calls ``replace(with:)``, and every request from then on is checked
/// against the new token only. Shared between the agent (writer) and every request (readers),
/// so it sits behind a `LockedState`.
public final class APIToken: Sendable {
    private let current: LockedState<BearerToken?>

    /// `nil` or an empty string: no token configured.
    public init(_ token: String? = nil) {
        current = LockedState(Self.bearer(token))
    }

    /// From now on only `token` is accepted (`nil`/empty: none configured).
    public func replace(with token: String?) {
        let new = Self.bearer(token)
        current.withLock { $0 = new }
    }

    /// Whether a token is configured right now.
    public var isConfigured: Bool { current.withLock { $0 != nil } }

    var bearer: BearerToken? { current.withLock { $0 } }

    /// An empty token counts as none: accepting `Bearer ` with nothing after it would be a token
    /// in name only.
    private static func bearer(_ token: String?) -> BearerToken? {
        guard let token, !token.isEmpty else { return nil }
        return BearerToken(token)
    }
}
