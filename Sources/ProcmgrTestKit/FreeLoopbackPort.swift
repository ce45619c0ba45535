#if canImport(Glibc)
import Glibc
#endif
import ProcmgrSupport

/// Why a free port could not be found.
public struct LoopbackPortError: Error, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call) failed with errno \(errno)" }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a child process — Prometheus,
/// Alertmanager, etcd — that must be told its port up front.
///
/// The port comes from below the kernel's ephemeral range (`ip_local_port_range`), never from
/// inside it: between this check and the child's bind, any outgoing connection or any server
/// bound to port 0 in a parallel test may be given an ephemeral port — a port picked by binding
/// to 0 was handed to such a socket in CI and the child failed with "address already in use".
/// Below the range (and below the agent's default `port: auto` range) only an explicit bind can
/// take it, and no port is handed out twice in one process. Where the range leaves no room below it, the kernel's choice is the fallback.
public func freeLoopbackPort() throws(LoopbackPortError) -> Int {
    let range = ephemeralPortFloor().map { floor in nonEphemeralPortStart..<min(floor, agentPortRangeStart) } ?? 0..<0
    if range.count >= 1_000 {
        for _ in 0..<500 {
            let port = Int.random(in: range)
            guard portsHandedOut.withLock({ !$0.contains(port) }) else { continue }
            guard let fd = try boundLoopbackSocket(port: port) else { continue }
            close(fd)
            if portsHandedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
    }
    guard let (fd, port) = try kernelChosenLoopbackSocket() else { throw LoopbackPortError(call: "bind", errno: EADDRINUSE) }
    close(fd)
    return port
}

/// Where the ports this picker uses start: above the well-known and most registered services'.
private let nonEphemeralPortStart = 12_000

/// Where the agent's default `port: auto` range (30000–31000) starts: in-process agents of the
/// tests hand those ports to their programs, so none of them is handed out here.
private let agentPortRangeStart = 30_000

/// Every port ``freeLoopbackPort()`` returned in this process.
private let portsHandedOut = LockedState<Set<Int>>([])

/// The first port of the kernel's ephemeral range ("LOW HIGH"), or nil when it cannot be read.
private func ephemeralPortFloor() -> Int? {
    guard let file = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
}

/// A port on 127.0.0.1 that refuses every connection for as long as `body` runs: bound but not
/// listening, so a connect gets ECONNREFUSED, and held, so no other test's server can take it
/// meanwhile (a port that was merely free a moment ago may be listening again by the time a
/// client tries it).
public func withRefusingLoopbackPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    guard let (fd, port) = try kernelChosenLoopbackSocket() else { throw LoopbackPortError(call: "bind", errno: EADDRINUSE) }
    defer { close(fd) }
    return try await body(port)
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel chose, not listening; the caller closes it.
private func kernelChosenLoopbackSocket() throws(LoopbackPortError) -> (fd: Int32, port: Int)? {
    guard let fd = try boundLoopbackSocket(port: 0) else { return nil }
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
    }
    guard named else {
        let error = LoopbackPortError(call: "getsockname", errno: errno)
        close(fd)
        throw error
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A TCP socket bound to 127.0.0.1:`port` (0: the kernel chooses), not listening, or nil when the
/// port is taken; the caller closes it.
private func boundLoopbackSocket(port: Int) throws(LoopbackPortError) -> Int32? {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw LoopbackPortError(call: "socket", errno: errno) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
    }
    guard bound else {
        let error = errno
        close(fd)
        if error == EADDRINUSE { return nil }
        throw LoopbackPortError(call: "bind", errno: error)
    }
    return fd
}
