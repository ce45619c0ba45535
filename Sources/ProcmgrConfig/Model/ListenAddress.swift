/// The agent's HTTP listen address, written `host:port` with IPv6 hosts in
/// brackets (`[::1]:9464`). Hosts are IPv4 literals, IPv6 literals or DNS
/// names such as `localhost`; `0.0.0.0` / `[::]` listen on every interface.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host without brackets (`::1`, `127.0.0.1`, `localhost`).
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` / `[v6]:port`; `nil` when malformed or port 0.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard Self.isIPv6(host) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard Self.isIPv4(host) || Self.isHostname(host) else { return nil }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portText), port > 0 else { return nil }
        self.init(host: String(host), port: port)
    }

    /// Whether `host` is an IPv6 literal (needs brackets in URLs).
    public var isIPv6: Bool { host.contains(":") }

    /// `127.0.0.1:9464` or `[::1]:9464`.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber } && (Int(part) ?? 256) <= 255
        }
    }

    /// A lexical IPv6 check: hex groups separated by colons, at most one `::`,
    /// optionally ending in an IPv4 literal, no zone ids.
    static func isIPv6(_ text: Substring) -> Bool {
        let characters = Array(text)
        let doubleColons = characters.indices.dropLast().filter { characters[$0] == ":" && characters[$0 + 1] == ":" }
        guard !text.isEmpty, doubleColons.count <= 1 else { return false }
        var groups = text.split(separator: ":", omittingEmptySubsequences: true)
        var groupBudget = 8
        if let last = groups.last, last.contains(".") {
            guard isIPv4(last) else { return false }
            groups.removeLast()
            groupBudget = 6
        }
        guard groups.allSatisfy({ $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }) else { return false }
        if !doubleColons.isEmpty { return groups.count < groupBudget }
        // Without "::" every group is present and no empty group is allowed.
        return groups.count == groupBudget && !text.hasPrefix(":") && !text.hasSuffix(":")
    }

    /// A DNS name: dot-separated labels of letters, digits and inner hyphens.
    /// An all-numeric last label is refused, so `256.0.0.1` is not taken for a name.
    static func isHostname(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if let last = labels.last, last.allSatisfy({ $0.isASCII && $0.isNumber }) { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}
