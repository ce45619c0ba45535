import Glibc

/// Bounded reads and small writes of cgroupfs files. Nothing a cgroup file contains can crash
/// the agent: reads stop at a limit, parsing skips what it does not understand.
enum CgroupFiles {
    /// The most bytes read from one cgroup file: `cgroup.procs` of ~100,000 members fits.
    static let readLimit = 1 << 20

    /// The file's contents (up to `limit` bytes), nil if it cannot be opened or read.
    static func read(_ path: String, limit: Int = readLimit) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let want = min(chunk.count, limit - bytes.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `value` in one `write` (cgroup files take one value per write); returns 0 or the errno.
    @discardableResult
    static func write(_ value: String, to path: String) -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        return write(value, fd: fd)
    }

    /// Writes `value` to an open descriptor in one `write`; returns 0 or the errno.
    static func write(_ value: String, fd: Int32) -> Int32 {
        var value = value
        return value.withUTF8 { buffer -> Int32 in
            while true {
                let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
                if n == buffer.count { return 0 }
                if n < 0, errno == EINTR { continue }
                return n < 0 ? errno : EIO
            }
        }
    }

    /// The first number of the file (`cpuacct.usage`, `memory.limit_in_bytes`), nil for
    /// anything else (including `max`).
    static func readNumber(_ path: String) -> UInt64? {
        read(path, limit: 256).flatMap { UInt64($0.trimmingWhitespace) }
    }

    /// `key value` lines (`cpu.stat`, `memory.stat`, `memory.events`, `cgroup.events`,
    /// `memory.oom_control`); lines that are not a word and a number are skipped.
    static func readKeyedNumbers(_ path: String) -> [Substring: UInt64]? {
        guard let text = read(path, limit: 64 * 1024) else { return nil }
        return parseKeyedNumbers(text)
    }

    static func parseKeyedNumbers(_ text: String) -> [Substring: UInt64] {
        var values: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2, let value = UInt64(fields[1]) else { continue }
            values[fields[0]] = value
        }
        return values
    }

    /// Process ids, one per line (`cgroup.procs`); garbage lines are skipped.
    static func parsePIDs(_ text: String) -> [Int32] {
        text.split(separator: "\n").compactMap { line in Int32(line.trimmingWhitespace).flatMap { $0 > 0 ? $0 : nil } }
    }

    /// True if `path` exists (any type).
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The names of the subdirectories of `path` (a cgroup's children); [] if unreadable.
    static func subdirectories(of path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingWhitespace: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return Substring(self[first...last])
    }
}
