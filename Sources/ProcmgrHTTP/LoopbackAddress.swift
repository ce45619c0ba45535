#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a listen host only accepts connections from this machine.
enum LoopbackAddress {
    /// True for `localhost`, IPv4 127.0.0.0/8, IPv6 `::1` and IPv4-mapped
    /// `::ffff:127.x.x.x`. Everything else, including the wildcard addresses
    /// `0.0.0.0`/`::` and any other host name, counts as reachable from the
    /// network: when unsure, the safe answer is "not loopback".
    static func isLoopback(host: String) -> Bool {
        var host = host
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        if host.lowercased() == "localhost" { return true }
        var ipv4 = in_addr()
        if inet_pton(AF_INET, host, &ipv4) == 1 {
            return firstOctet(ipv4) == 127
        }
        var ipv6 = in6_addr()
        guard inet_pton(AF_INET6, host, &ipv6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: ipv6) { Array($0) }
        let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
        if bytes == loopback { return true }
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        return Array(bytes[0..<12]) == mappedPrefix && bytes[12] == 127
    }

    private static func firstOctet(_ address: in_addr) -> UInt8 {
        withUnsafeBytes(of: address.s_addr) { $0[0] }  // network byte order: first byte is the first octet
    }
}
