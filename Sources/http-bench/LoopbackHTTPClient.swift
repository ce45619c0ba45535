#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking HTTP/1.1 client over one keep-alive TCP connection to
/// 127.0.0.1, about as thin as a scraper's: no TLS, no redirects, no
/// decompression. Thin on purpose, so the latency measured is the server's,
/// not a client framework's. Bodies are counted, not kept; both
/// `Content-Length` and chunked bodies are read, because Go's net/http (the
/// client_golang peer) streams `/metrics` chunked.
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
    /// Received bytes not yet consumed are `buffer[start..<buffer.count]`. An index instead of
    /// `removeFirst`, so a chunked body of thousands of small chunks is not memmoved each time.
    private var buffer: [UInt8] = []
    private var start = 0
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

        let headerEnd = try find(crlfcrlf, from: start)
        let head = String(decoding: buffer[start..<headerEnd], as: UTF8.self)
        start = headerEnd + 4
        var lines = head.split(separator: "\r\n").makeIterator()
        guard let statusLine = lines.next(), statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { throw Failure(description: "bad status line in \(head)") }
        var fields: [String: String] = [:]
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        let bodyBytes: Int
        if let length = fields["content-length"].flatMap({ Int($0) }) {
            try skip(length)
            bodyBytes = length
        } else if fields["transfer-encoding"]?.lowercased() == "chunked" {
            bodyBytes = try skipChunkedBody()
        } else {
            throw Failure(description: "response with neither Content-Length nor chunked encoding")
        }
        return Response(status: status, headers: fields, bodyBytes: bodyBytes)
    }

    private func skipChunkedBody() throws -> Int {
        var total = 0
        while true {
            let line = try readLine()
            guard let size = Int(String(line.prefix { $0 != ";" && $0 != " " }), radix: 16) else {
                throw Failure(description: "bad chunk size line \(line)")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers
                return total
            }
            try skip(size)
            guard try readLine().isEmpty else { throw Failure(description: "chunk not followed by CRLF") }
            total += size
        }
    }

    private let crlfcrlf: [UInt8] = [13, 10, 13, 10]
    private let crlf: [UInt8] = [13, 10]

    private func readLine() throws -> String {
        let end = try find(crlf, from: start)
        let line = String(decoding: buffer[start..<end], as: UTF8.self)
        start = end + 2
        return line
    }

    /// Receives until `pattern` is buffered at or after `from`; returns where it starts.
    private func find(_ pattern: [UInt8], from: Int) throws -> Int {
        var searchFrom = from
        while true {
            if buffer.count - searchFrom >= pattern.count {
                let last = buffer.count - pattern.count
                var index = searchFrom
                while index <= last {
                    if buffer[index] == pattern[0], buffer[index + 1] == pattern[1],
                       pattern.count == 2 || (buffer[index + 2] == pattern[2] && buffer[index + 3] == pattern[3]) {
                        return index
                    }
                    index += 1
                }
                searchFrom = last + 1
            }
            let offset = start
            try receive()
            searchFrom -= offset - start  // receive() may have compacted the buffer
        }
    }

    /// Consumes `length` body bytes, the buffered ones first.
    private func skip(_ length: Int) throws {
        var remaining = length
        let buffered = min(remaining, buffer.count - start)
        start += buffered
        remaining -= buffered
        while remaining > 0 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, remaining), 0) }
            guard count > 0 else { throw Failure(description: "connection closed mid-body") }
            remaining -= count
        }
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    private func receive() throws {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure(description: "connection closed (recv \(count), errno \(errno))") }
        buffer.append(contentsOf: chunk[0..<count])
    }
}
