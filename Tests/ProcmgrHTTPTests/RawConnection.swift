import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One raw TCP connection to 127.0.0.1 that the test holds open, for what no HTTP client does:
/// stay idle, trickle a request head, count as one of many.
///
/// Blocking calls run on threads of their own (see `rawExchange`), never on the cooperative pool
/// the server under test needs.
final class RawConnection: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect: errno \(code)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends `text`; `false` if the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return sent == bytes.count
    }

    /// What the server sends until it closes the connection; fails loudly if it has not closed
    /// it within `timeout`.
    func readUntilClosed(timeout: Duration) async throws -> String {
        let fd = self.fd
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.blockingReadUntilClosed(fd: fd, timeout: timeout) })
            }.start()
        }
    }

    /// Reads until `marker` has arrived (the end of a response head, say) and returns everything
    /// read; fails loudly after `timeout` or if the server closes first.
    func read(until marker: String, timeout: Duration) async throws -> String {
        let fd = self.fd
        return try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.blockingRead(fd: fd, until: marker, timeout: timeout) })
            }.start()
        }
    }

    private static func blockingReadUntilClosed(fd: Int32, timeout: Duration) throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var received: [UInt8] = []
        while true {
            guard let chunk = try receive(fd: fd, deadline: deadline) else {
                throw Failure(description: "the server did not close the connection within \(timeout); received \(received.count) bytes")
            }
            if chunk.isEmpty { return String(decoding: received, as: UTF8.self) }
            received += chunk
        }
    }

    private static func blockingRead(fd: Int32, until marker: String, timeout: Duration) throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var received: [UInt8] = []
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            guard let chunk = try receive(fd: fd, deadline: deadline) else {
                throw Failure(description: "no \(marker.debugDescription) within \(timeout); received \(String(decoding: received, as: UTF8.self).debugDescription)")
            }
            if chunk.isEmpty { throw Failure(description: "closed before \(marker.debugDescription); received \(String(decoding: received, as: UTF8.self).debugDescription)") }
            received += chunk
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// One `recv` after `poll` up to the deadline: `nil` at the deadline, `[]` at end of stream
    /// (or a reset: the server is gone either way).
    private static func receive(fd: Int32, deadline: ContinuousClock.Instant) throws -> [UInt8]? {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { return nil }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0 {
            if errno == EINTR { return try receive(fd: fd, deadline: deadline) }
            throw Failure(description: "poll: errno \(errno)")
        }
        if ready == 0 { return nil }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 { return errno == ECONNRESET ? [] : try { throw Failure(description: "recv: errno \(errno)") }() }
        return Array(chunk[0..<count])
    }
}
