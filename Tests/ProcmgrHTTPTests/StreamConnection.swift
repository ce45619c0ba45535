import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ProcmgrSupport

/// A raw connection that sends one request and reads a response that does not end (an SSE
/// stream), keeping everything received so far, so a test can wait for the next bytes.
///
/// Reads block on a thread of their own (never on the cooperative pool the server needs).
final class StreamConnection: Sendable {
    let raw: RawConnection
    private let received = LockedState<[UInt8]>([])

    init(port: Int, request: String) throws {
        raw = try RawConnection(port: port)
        guard raw.send(request) else { throw RawConnection.Failure(description: "the server closed before the request was sent") }
    }

    /// `GET path` with `headers` (`Name: value` lines), HTTP/1.1.
    convenience init(port: Int, get path: String, headers: [String] = [], method: String = "GET") throws {
        let extra = headers.map { "\($0)\r\n" }.joined()
        try self.init(port: port, request: "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)\r\n")
    }

    /// Everything received so far.
    var text: String { received.withLock { String(decoding: $0, as: UTF8.self) } }

    /// The last `count` bytes received (cheap to check after every read of a long stream).
    func recent(_ count: Int) -> String {
        received.withLock { String(decoding: $0.suffix(count), as: UTF8.self) }
    }

    /// The response body so far (after the head), with chunked transfer framing removed.
    var body: String {
        let all = text
        guard let end = all.range(of: "\r\n\r\n") else { return "" }
        return Self.unchunk(String(all[end.upperBound...]))
    }

    /// Reads until `condition` holds for the received text; fails loudly after `timeout` or if
    /// the server closes first.
    @discardableResult
    func read(until what: String, timeout: Duration = .seconds(10), _ condition: @escaping @Sendable (StreamConnection) -> Bool) async throws -> String {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                continuation.resume(with: Result { try self.blockingRead(until: what, timeout: timeout, condition) })
            }.start()
        }
        return text
    }

    /// Reads until `marker` arrived (checked in the newest bytes after each read, so a marker
    /// inside one server write is found however long the stream). Returns everything received.
    @discardableResult
    func read(untilBodyContains marker: String, timeout: Duration = .seconds(10)) async throws -> String {
        let window = marker.utf8.count + Self.chunkBytes
        return try await read(until: marker.debugDescription, timeout: timeout) { $0.recent(window).contains(marker) }
    }

    static let chunkBytes = 64 * 1024

    /// Reads until the server closes the connection.
    func readUntilClosed(timeout: Duration = .seconds(10)) async throws -> String {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                continuation.resume(with: Result {
                    let deadline = ContinuousClock.now.advanced(by: timeout)
                    while true {
                        guard let chunk = try self.receive(deadline: deadline) else {
                            throw RawConnection.Failure(description: "not closed within \(timeout)")
                        }
                        if chunk.isEmpty { return }
                        self.received.withLock { $0 += chunk }
                    }
                })
            }.start()
        }
        return text
    }

    /// Shuts the socket down both ways: the server sees the client gone.
    func disconnect() {
        shutdown(raw.fd, Int32(SHUT_RDWR))
    }

    private func blockingRead(until what: String, timeout: Duration, _ condition: (StreamConnection) -> Bool) throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !condition(self) {
            guard let chunk = try receive(deadline: deadline) else {
                throw RawConnection.Failure(description: "no \(what) within \(timeout); received \(text.suffix(600).debugDescription)")
            }
            if chunk.isEmpty { throw RawConnection.Failure(description: "closed before \(what); received \(text.suffix(600).debugDescription)") }
            received.withLock { $0 += chunk }
        }
    }

    /// One `recv` after `poll` up to the deadline: nil at the deadline, `[]` at end of stream.
    private func receive(deadline: ContinuousClock.Instant) throws -> [UInt8]? {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return nil }
            var descriptor = pollfd(fd: raw.fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            if ready < 0 { throw RawConnection.Failure(description: "poll: errno \(errno)") }
            if ready == 0 { return nil }
            var chunk = [UInt8](repeating: 0, count: Self.chunkBytes)
            let count = chunk.withUnsafeMutableBytes { recv(raw.fd, $0.baseAddress, $0.count, 0) }
            if count < 0 { return errno == ECONNRESET ? [] : try { throw RawConnection.Failure(description: "recv: errno \(errno)") }() }
            return Array(chunk[0..<count])
        }
    }

    /// The payload of a chunked body (an incomplete last chunk kept as far as it arrived).
    /// Byte-wise: `"\r\n"` is one `Character`, so `String` offsets would miscount.
    static func unchunk(_ body: String) -> String {
        let bytes = Array(body.utf8)
        var payload: [UInt8] = []
        var index = 0
        while let lineEnd = (index..<max(index, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) {
            guard let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            let end = min(bytes.count, start + size)
            payload += bytes[start..<end]
            index = end + 2
            if index >= bytes.count { break }
        }
        return String(decoding: payload, as: UTF8.self)
    }
}

/// The complete SSE frames of a stream body: each frame's fields (`id`, `event`, `data`);
/// comments and the `retry:` frame skipped.
func serverSentEvents(_ body: String) -> [[String: String]] {
    body.components(separatedBy: "\n\n").dropLast().compactMap { frame -> [String: String]? in
        var fields: [String: String] = [:]
        for line in frame.split(separator: "\n") where !line.hasPrefix(":") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        return fields.isEmpty || fields["retry"] != nil ? nil : fields
    }
}
