#if canImport(Glibc)
import Glibc
#endif

/// Why a free port could not be found.
public struct LoopbackPortError: Error, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call) failed with errno \(errno)" }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), for a
/// child process — Prometheus, Alertmanager — that must be told its port up front.
public func freeLoopbackPort() throws(LoopbackPortError) -> Int {
    let (fd, port) = try boundLoopbackSocket()
    close(fd)
    return port
}

/// A port on 127.0.0.1 that refuses every connection for as long as `body` runs: bound but not
/// listening, so a connect gets ECONNREFUSED, and held, so no other test's server can take it
/// meanwhile (a port that was merely free a moment ago may be listening again by the time a
/// client tries it).
public func withRefusingLoopbackPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    let (fd, port) = try boundLoopbackSocket()
    defer { close(fd) }
    return try await body(port)
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel chose, not listening; the caller closes it.
private func boundLoopbackSocket() throws(LoopbackPortError) -> (fd: Int32, port: Int) {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw LoopbackPortError(call: "socket", errno: errno) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else {
        let error = LoopbackPortError(call: "bind", errno: errno)
        close(fd)
        throw error
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
