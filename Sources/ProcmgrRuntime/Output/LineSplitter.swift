import Glibc

/// Splits a byte stream into lines with a hard per-line limit.
///
/// Why: a child's output is untrusted. A line is cut at `limit` bytes (on a UTF-8 character
/// boundary) and the rest of it, up to the next newline, is counted and discarded, then
/// reported with a ` …[truncated N bytes]` marker. Memory per stream is therefore at most
/// `limit` bytes, whatever the child writes (even 50 MB without a single newline).
struct LineSplitter {
    let limit: Int
    private var partial: [UInt8] = []
    private var dropped = 0

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// The marker appended to truncated lines.
    static func marker(droppedBytes: Int) -> String { " …[truncated \(droppedBytes) bytes]" }

    /// Splits `chunk`; complete lines are appended to `lines` as (text, bytes dropped).
    mutating func feed(_ chunk: UnsafeRawBufferPointer, into lines: inout [(text: String, dropped: Int)]) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        let total = chunk.count
        var start = 0
        while start < total {
            let remaining = total - start
            guard let hit = memchr(base + start, 0x0A, remaining) else {
                append(base + start, count: remaining)
                return
            }
            let end = base.distance(to: UnsafeRawPointer(hit))
            let length = end - start
            if partial.isEmpty && dropped == 0 && length <= limit {
                // Fast path: the whole line is inside this chunk.
                lines.append((String(decoding: UnsafeRawBufferPointer(start: base + start, count: length), as: UTF8.self), 0))
            } else {
                append(base + start, count: length)
                lines.append(takeLine())
            }
            start = end + 1
        }
    }

    /// At EOF: the unterminated last line, if any.
    mutating func finish(into lines: inout [(text: String, dropped: Int)]) {
        if !partial.isEmpty || dropped > 0 { lines.append(takeLine()) }
    }

    private mutating func append(_ pointer: UnsafeRawPointer, count: Int) {
        let take = min(max(limit - partial.count, 0), count)
        if take > 0 {
            if partial.capacity == 0 { partial.reserveCapacity(min(limit, 4096)) }
            partial.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: take))
        }
        dropped += count - take
    }

    private mutating func takeLine() -> (text: String, dropped: Int) {
        var droppedBytes = dropped
        if droppedBytes > 0 {
            // Do not leave half a UTF-8 character before the marker.
            let cut = Self.utf8SafeLength(partial)
            droppedBytes += partial.count - cut
            partial.removeSubrange(cut...)
        }
        var text = String(decoding: partial, as: UTF8.self)
        if droppedBytes > 0 { text += Self.marker(droppedBytes: droppedBytes) }
        partial.removeAll(keepingCapacity: partial.capacity <= 65536)
        dropped = 0
        return (text, droppedBytes)
    }

    /// Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence.
    static func utf8SafeLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var index = count - 1
        var seen = 0
        while index >= 0 && seen < 4 {
            let byte = bytes[index]
            if byte & 0xC0 != 0x80 {  // a lead byte or ASCII
                let needed: Int
                if byte < 0x80 { needed = 1 } else if byte >= 0xF0 { needed = 4 } else if byte >= 0xE0 { needed = 3 } else if byte >= 0xC0 { needed = 2 } else { needed = 1 }
                return index + needed <= count ? count : index
            }
            index -= 1
            seen += 1
        }
        return count
    }
}
