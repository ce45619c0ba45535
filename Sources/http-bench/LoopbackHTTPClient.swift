#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking HTTP/1.1 client over one keep-alive TCP connection to
/// 127.0.0.1, about as thin as a scraper's: no TLS, no redirects, no
/// decompression, `Content-Length` bodies only. Thin on purpose, so the
/// latency measured is the server's, not a client framework's.
final class LoopbackHTTPClient {
    struct Response {
        let status: Int
        let headers: [String: String]
        let bodyBytes: Int
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let fd: Int32
    private var pending: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port): errno \(errno)")
        }
    }

    deinit {
        close(fd)
    }

    /// Sends a GET and reads the whole response; the body is counted, not kept.
    func get(_ path: String, headers: [(String, String)] = []) throws -> Response {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try sendAll(Array(request.utf8))

        let headerEnd = try readUntilHeaderEnd()
        let head = String(decoding: pending[..<headerEnd], as: UTF8.self)
        pending.removeFirst(headerEnd + 4)
        var lines = head.split(separator: "\r\n").makeIterator()
        guard let statusLine = lines.next(), statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { throw Failure(description: "bad status line in \(head)") }
        var fields: [String: String] = [:]
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        guard let length = fields["content-length"].flatMap({ Int($0) }) else {
            throw Failure(description: "response without Content-Length")
        }
        try skipBody(length)
        return Response(status: status, headers: fields, bodyBytes: length)
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads until `pending` holds a complete header block; returns where `\r\n\r\n` starts.
    private func readUntilHeaderEnd() throws -> Int {
        var searchFrom = 0
        while true {
            if pending.count >= 4 {
                for index in searchFrom...(pending.count - 4)
                where pending[index] == 13 && pending[index + 1] == 10 && pending[index + 2] == 13 && pending[index + 3] == 10 {
                    return index
                }
                searchFrom = pending.count - 3
            }
            try receive()
        }
    }

    /// Consumes `length` body bytes, the buffered ones first.
    private func skipBody(_ length: Int) throws {
        var remaining = length
        let buffered = min(remaining, pending.count)
        pending.removeFirst(buffered)
        remaining -= buffered
        while remaining > 0 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, remaining), 0) }
            guard count > 0 else { throw Failure(description: "connection closed mid-body") }
            remaining -= count
        }
    }

    private func receive() throws {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(description: "connection closed (recv \(count), errno \(errno))") }
        pending.append(contentsOf: chunk[0..<count])
    }
}
