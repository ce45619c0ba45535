import Glibc

/// Reads a few keys of a cgroup `key value` file (`cpu.stat`, `memory.stat`) into numbers, with
/// one stack buffer and no strings: the scrape reads two such files per process, and building a
/// dictionary of every line (v1 `memory.stat` has ~40) cost more than the /proc scan it replaces.
enum CgroupStatReader {
    /// The largest file read: v2 `memory.stat` is ~2 KiB; the rest of a longer file is ignored.
    static let bufferSize = 8192

    /// The value of each of `keys` (nil for a key the file does not have), or nil when the file
    /// cannot be read. A line is `<key> <decimal>`; anything else is skipped.
    static func values(_ path: String, keys: [[UInt8]]) -> [UInt64?]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bufferSize) { buffer -> [UInt64?]? in
            guard let base = buffer.baseAddress else { return nil }
            var length = 0
            while length < bufferSize {
                let n = read(fd, base + length, bufferSize - length)
                if n < 0, errno == EINTR { continue }
                if n < 0 { return nil }
                if n == 0 { break }
                length += n
            }
            return scan(UnsafeBufferPointer(start: base, count: length), keys: keys)
        }
    }

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, keys: [[UInt8]]) -> [UInt64?] {
        var found = [UInt64?](repeating: nil, count: keys.count)
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            var space = lineStart
            while space < lineEnd, bytes[space] != UInt8(ascii: " ") { space += 1 }
            if space < lineEnd, let index = keyIndex(bytes, from: lineStart, to: space, keys: keys) {
                found[index] = number(bytes, from: space + 1, to: lineEnd)
            }
            lineStart = lineEnd + 1
        }
        return found
    }

    private static func keyIndex(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, keys: [[UInt8]]) -> Int? {
        outer: for (index, key) in keys.enumerated() where key.count == end - start {
            for offset in 0..<key.count where bytes[start + offset] != key[offset] { continue outer }
            return index
        }
        return nil
    }

    /// A decimal that fits in 64 bits and fills the rest of the line; nil otherwise.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> UInt64? {
        guard start < end else { return nil }
        var value: UInt64 = 0
        for position in start..<end {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}
