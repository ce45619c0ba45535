import Foundation
import Glibc

/// A minimal blocking HTTP/1.1 client over a loopback socket, for the chaos suite: one request
/// per connection (`Connection: close`), a receive/send timeout on the socket so a starved or
/// stopped agent shows up as an error instead of a hang, and raw idle connections for the fd
/// exhaustion fault. Written against the socket API rather than AsyncHTTPClient so that what the
/// suite measures is the agent, not a client's pool and retries.
enum ChaosHTTP {
    struct Reply {
        var status: Int
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `METHOD path` on 127.0.0.1:`port`, waiting at most `timeout` seconds per socket operation.
    static func request(port: Int, method: String = "GET", path: String, body: String? = nil, timeout: Double = 5) throws(Failure) -> Reply {
        let fd = try connectLoopback(port: port, timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/yaml\r\nContent-Length: \(body.utf8.count)\r\n" }
        head += "\r\n"
        let bytes = Array((head + (body ?? "")).utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                buffer.baseAddress.map { send(fd, $0 + sent, buffer.count - sent, Int32(MSG_NOSIGNAL)) } ?? 0
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send to :\(port)\(path): \(String(cString: strerror(errno)))") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure(description: "recv from :\(port)\(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n", maxSplits: 1).first,
              statusLine.hasPrefix("HTTP/1.1 "),
              let status = Int(statusLine.dropFirst(9).prefix(3))
        else { throw Failure(description: "\(method) \(path): no HTTP response (\(response.count) bytes)") }
        var payload = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        if text.lowercased().contains("transfer-encoding: chunked") { payload = dechunk(payload) }
        return Reply(status: status, body: payload)
    }

    /// A connected TCP socket to 127.0.0.1:`port` with send/receive timeouts.
    static func connectLoopback(port: Int, timeout: Double) throws(Failure) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard ProcmgrBenchmarks.connectLoopback(fd, port: port) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect to :\(port): \(reason)")
        }
        return fd
    }

    /// Starts `count` connections that never send a byte, without waiting for any of them
    /// (non-blocking connects: when the agent's accept queue is full the kernel keeps retrying
    /// the handshakes, so the pressure lasts as long as the descriptors are held). Returns the
    /// descriptors; fewer if this process runs out first.
    static func openIdle(port: Int, count: Int) -> [Int32] {
        var descriptors: [Int32] = []
        descriptors.reserveCapacity(count)
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { break }
            let result = ProcmgrBenchmarks.connectLoopback(fd, port: port)
            guard result == 0 || errno == EINPROGRESS else { close(fd); break }
            descriptors.append(fd)
        }
        return descriptors
    }

    private static func dechunk(_ body: String) -> String {
        var out = ""
        var rest = Substring(body)
        while let lineEnd = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<lineEnd.lowerBound].split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let utf8 = rest.utf8
            guard let end = utf8.index(start, offsetBy: size, limitedBy: utf8.endIndex) else { break }
            out += rest[start..<end]
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
