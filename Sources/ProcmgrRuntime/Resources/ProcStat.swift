import Glibc

/// The fields of `/proc/PID/stat` procmgr needs.
///
/// Why parse it ourselves: the start time (field 22, clock ticks since boot) is what makes a
/// saved pid safe to act on after a restart — a recycled pid has a different start time — and
/// the pgid/utime/stime/rss/thread fields feed group stop checks and resource metrics. Parsing starts
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
    /// Field 20: threads in the process. One thread means its children are all listed in
    /// `/proc/PID/task/PID/children`, so the per-pid reader needs no listing of `task/`.
    public var threadCount: Int
    /// Field 22: start time in clock ticks after boot.
    public var startTime: UInt64
    /// Resident set size in pages.
    public var residentPages: UInt64

    public var isZombie: Bool { state == "Z" }

    /// Reads `/proc/<pid>/stat`; nil when the process does not exist.
    public static func read(pid: Int32) -> ProcStat? {
        // Read on the spawn thread once per child (its start time), so no heap buffer and no
        // String path building beyond the one `open` needs.
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2048) { buffer in
            var total = 0
            while total < buffer.count {
                guard let base = buffer.baseAddress else { break }
                let n = Glibc.read(fd, base + total, buffer.count - total)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                total += n
            }
            return parse(UnsafeBufferPointer(rebasing: buffer[0..<total]))
        }
    }

    public static func parse(_ bytes: ArraySlice<UInt8>) -> ProcStat? {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// Parses `/proc/PID/stat` (proc(5)): `pid (comm) state ppid pgrp session … starttime vsize
    /// rss …`. The command may itself contain spaces and parentheses, so it spans from the first
    /// `(` to the *last* `)`; the numeric fields after it are read in one pass over the bytes
    /// (the String-splitting version cost a quarter of the spawn thread's time).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ProcStat? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")),
              open < close
        else { return nil }
        var pid: Int64 = 0
        var sawDigit = false
        for byte in bytes[..<open] where byte != UInt8(ascii: " ") {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            pid = pid * 10 + Int64(byte - UInt8(ascii: "0"))
            sawDigit = true
            guard pid <= Int64(Int32.max) else { return nil }
        }
        guard sawDigit else { return nil }
        let command = String(decoding: UnsafeBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)

        // Fields 3... after the command; field 3 (state) is a character, the rest numbers.
        var state: UInt8 = 0
        var numbers = (parentPID: Int64(0), group: Int64(0), session: Int64(0))
        var ticks = (user: UInt64(0), system: UInt64(0), childrenUser: UInt64(0), childrenSystem: UInt64(0))
        var startTime: UInt64 = 0
        var threadCount: UInt64 = 0
        var residentPages: UInt64 = 0
        var field = 2
        var value: UInt64 = 0
        var negative = false
        var inField = false
        func finish(_ field: Int, _ value: UInt64, _ negative: Bool) {
            let signed = negative ? -Int64(truncatingIfNeeded: value) : Int64(truncatingIfNeeded: value)
            switch field {
            case 4: numbers.parentPID = signed
            case 5: numbers.group = signed
            case 6: numbers.session = signed
            case 14: ticks.user = value
            case 15: ticks.system = value
            case 16: ticks.childrenUser = value
            case 17: ticks.childrenSystem = value
            case 20: threadCount = value
            case 22: startTime = value
            case 24: residentPages = value
            default: break
            }
        }
        var index = close + 1
        while index < bytes.count, field <= 24 {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                if inField { finish(field, value, negative) }
                inField = false
                continue
            }
            if !inField {
                inField = true
                field += 1
                value = 0
                negative = false
                if field == 3 {
                    state = byte
                    continue
                }
            }
            if field == 3 { continue }
            if byte == UInt8(ascii: "-") {
                negative = true
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
            }
        }
        if inField { finish(field, value, negative) }
        guard field >= 24, state != 0 else { return nil }
        return ProcStat(
            pid: Int32(pid),
            command: command,
            state: Character(Unicode.Scalar(state)),
            parentPID: Int32(truncatingIfNeeded: numbers.parentPID),
            processGroup: Int32(truncatingIfNeeded: numbers.group),
            session: Int32(truncatingIfNeeded: numbers.session),
            userTicks: ticks.user,
            systemTicks: ticks.system,
            childrenUserTicks: ticks.childrenUser,
            childrenSystemTicks: ticks.childrenSystem,
            threadCount: Int(truncatingIfNeeded: threadCount),
            startTime: startTime,
            residentPages: residentPages
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
        numericEntries(of: "/proc")
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
