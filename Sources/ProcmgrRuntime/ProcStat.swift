import Glibc

/// The fields of `/proc/PID/stat` procmgr needs.
///
/// Why parse it ourselves: the start time (field 22, clock ticks since boot) is what makes a
/// saved pid safe to act on after a restart — a recycled pid has a different start time — and
/// the pgid/utime/stime/rss fields feed group stop checks and resource metrics. Parsing starts
/// after the *last* `)` because the command name may contain spaces and parentheses.
public struct ProcStat: Sendable, Hashable {
    public var pid: Int32
    public var command: String
    /// `R`, `S`, `D`, `Z`, `T`, …
    public var state: Character
    public var parentPID: Int32
    public var processGroup: Int32
    public var session: Int32
    /// User and system CPU time in clock ticks.
    public var userTicks: UInt64
    public var systemTicks: UInt64
    /// CPU time of waited-for children, in clock ticks.
    public var childrenUserTicks: UInt64
    public var childrenSystemTicks: UInt64
    /// Field 22: start time in clock ticks after boot.
    public var startTime: UInt64
    /// Resident set size in pages.
    public var residentPages: UInt64

    public var isZombie: Bool { state == "Z" }

    /// Reads `/proc/<pid>/stat`; nil when the process does not exist.
    public static func read(pid: Int32) -> ProcStat? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress! + total, raw.count - total)
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        return parse(buffer[0..<total])
    }

    /// Parses the content of a stat file.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> ProcStat? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")),
              open < close
        else { return nil }
        guard let pid = Int32(String(decoding: bytes[bytes.startIndex..<open], as: UTF8.self).trimmingSpaces) else { return nil }
        let command = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let rest = String(decoding: bytes[(close + 1)..<bytes.endIndex], as: UTF8.self)
        let fields = rest.split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state); field N is fields[N - 3].
        guard fields.count >= 22, let state = fields[0].first else { return nil }
        func int32(_ field: Int) -> Int32 { Int32(fields[field - 3]) ?? 0 }
        func uint64(_ field: Int) -> UInt64 { UInt64(fields[field - 3].trimmingSpacesSubstring) ?? 0 }
        return ProcStat(
            pid: pid,
            command: command,
            state: state,
            parentPID: int32(4),
            processGroup: int32(5),
            session: int32(6),
            userTicks: uint64(14),
            systemTicks: uint64(15),
            childrenUserTicks: uint64(16),
            childrenSystemTicks: uint64(17),
            startTime: uint64(22),
            residentPages: uint64(24)
        )
    }

    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    public static let ticksPerSecond: UInt64 = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
    /// Page size in bytes.
    public static let pageSize: UInt64 = UInt64(max(1, sysconf(Int32(_SC_PAGESIZE))))
}

/// Enumerates `/proc`.
public enum ProcFS {
    /// Every pid currently listed in `/proc` (processes, not threads).
    public static func allPIDs() -> [Int32] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
        pids.reserveCapacity(512)
        while let entry = readdir(dir) {
            let pid = withUnsafePointer(to: &entry.pointee.d_name) { pointer -> Int32? in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { name in
                    guard name.pointee >= 0x31 && name.pointee <= 0x39 else { return nil }
                    return Int32(String(cString: name))
                }
            }
            if let pid { pids.append(pid) }
        }
        return pids
    }

    /// Stat of every process (skips processes that vanish while scanning).
    public static func allStats() -> [ProcStat] {
        allPIDs().compactMap { ProcStat.read(pid: $0) }
    }

    /// Processes whose process group is `pgid` (zombies included).
    public static func members(ofGroup pgid: Int32) -> [ProcStat] {
        allStats().filter { $0.processGroup == pgid }
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}

extension Substring {
    var trimmingSpacesSubstring: Substring {
        var s = self
        while let last = s.last, last == "\n" || last == " " { s.removeLast() }
        return s
    }
}
