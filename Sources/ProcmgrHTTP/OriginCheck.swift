/// Refuses requests a browser sends on another site's behalf, for the endpoints that act or
/// reveal process output (mutations, `/logs`).
///
/// Why: a tokenless agent on loopback trusts whoever can connect, and any web page the operator
/// opens can make the browser connect. A cross-site `fetch`/form POST carries an `Origin` that is
/// not the agent's own (or `Sec-Fetch-Site: cross-site`), so it is refused before it acts. DNS
/// rebinding gets round that (the attacker's name resolves to 127.0.0.1, so the page is "same
/// origin"), but the request then names the attacker's host in `Host`: a tokenless loopback
/// listener only answers to loopback names. With a token the browser cannot present it
/// cross-site anyway. Clients that are not browsers (curl, the CLI) send no `Origin` and pass.
/// No CORS headers are ever sent, so a browser never lets another site read an answer either.
struct OriginCheck: Sendable {
    /// Whether the listener is loopback-only (see ``MutationPolicy``).
    let loopback: Bool
    let token: APIToken

    init(policy: MutationPolicy) {
        loopback = policy.loopback
        token = policy.token
    }

    enum Verdict: Equatable {
        case allow
        /// 403 with this message.
        case refuse(String)
    }

    /// - Parameters:
    ///   - origins: every `Origin` header value (a browser sends at most one).
    ///   - fetchSite: the `Sec-Fetch-Site` header value.
    ///   - host: the request's `Host` (its authority), `nil` when absent.
    func check(origins: [String], fetchSite: String?, host: String?) -> Verdict {
        if fetchSite?.lowercased() == "cross-site" {
            return .refuse("cross-site request refused (Sec-Fetch-Site: cross-site): act on this agent from its own page or a client that is not a browser")
        }
        for origin in origins where !Self.isSameOrigin(origin, host: host) {
            return .refuse(
                "cross-site request refused: Origin \(EchoedInput.excerpt(origin)) is not this agent's own (http://\(EchoedInput.excerpt(host ?? ""))); "
                    + "act on it from its own page or a client that is not a browser")
        }
        if loopback, token.bearer == nil, let host, !LoopbackAddress.isLoopback(host: Self.hostName(of: host)) {
            return .refuse(
                "request refused: Host \(EchoedInput.excerpt(host)) is not a loopback name; a tokenless agent on a loopback listener "
                    + "only answers localhost, 127.0.0.1 or [::1] here (DNS rebinding guard; configure a token to use other names)")
        }
        return .allow
    }

    /// `Origin` is `scheme://host[:port]`; it is this agent's own when its authority is the
    /// request's `Host`, a port the scheme implies counting as written. The scheme is not
    /// compared: behind a TLS-terminating proxy the page is `https://` while the agent speaks
    /// HTTP, and no other site can serve a page from this very host and port.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        let origin = origin.lowercased()
        let defaultPort: String
        let authority: Substring
        if origin.hasPrefix("http://") {
            defaultPort = ":80"
            authority = origin.dropFirst("http://".count)
        } else if origin.hasPrefix("https://") {
            defaultPort = ":443"
            authority = origin.dropFirst("https://".count)
        } else {
            return false  // `null` (a sandboxed frame, a file), or any other scheme
        }
        func normalized(_ text: Substring) -> Substring {
            text.hasSuffix(defaultPort) ? text.dropLast(defaultPort.count) : text
        }
        return !authority.isEmpty && normalized(authority) == normalized(Substring(host.lowercased()))
    }

    /// `Host` without its port: `127.0.0.1:9464` → `127.0.0.1`, `[::1]:9464` → `::1`.
    static func hostName(of host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        guard let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon else { return host }
        return String(host[..<colon])
    }
}
