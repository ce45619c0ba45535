import Glibc

/// CPU and memory of a whole process group.
public struct GroupResourceUsage: Sendable, Hashable {
    public var pgid: Int32
    /// Live members (zombies excluded).
    public var processCount: Int
    /// Sum of utime+stime of the live members, in seconds.
    public var cpuSeconds: Double
    /// Sum of cutime+cstime of the live members (CPU of members that already exited and were
    /// waited for by a member), in seconds. Add it to ``cpuSeconds`` for a counter that does
    /// not drop when short-lived helpers exit.
    public var reapedChildrenCPUSeconds: Double
    /// Sum of resident set sizes, in bytes (shared pages are counted once per process).
    public var rssBytes: UInt64

    public init(pgid: Int32, processCount: Int = 0, cpuSeconds: Double = 0, reapedChildrenCPUSeconds: Double = 0, rssBytes: UInt64 = 0) {
        self.pgid = pgid
        self.processCount = processCount
        self.cpuSeconds = cpuSeconds
        self.reapedChildrenCPUSeconds = reapedChildrenCPUSeconds
        self.rssBytes = rssBytes
    }

    /// CPU of the members and of what they reaped: does not drop when a helper exits and its
    /// parent in the group waits for it.
    public var totalCPUSeconds: Double { cpuSeconds + reapedChildrenCPUSeconds }
}

/// The three per-pid files of `/proc` the tree reader needs; injectable so tests can prove which
/// pids it reads (it must never enumerate `/proc`).
public struct ProcTreeSource: Sendable {
    /// `/proc/PID/stat`; nil when the process is gone.
    public var stat: @Sendable (_ pid: Int32) -> ProcStat?
    /// The thread ids of a process (`/proc/PID/task/`), read only for a multi-threaded one.
    public var threads: @Sendable (_ pid: Int32) -> [Int32]
    /// `/proc/PID/task/TID/children`: the children that thread forked (or that were re-parented
    /// to it).
    public var children: @Sendable (_ pid: Int32, _ thread: Int32) -> [Int32]

    public init(
        stat: @escaping @Sendable (Int32) -> ProcStat?,
        threads: @escaping @Sendable (Int32) -> [Int32],
        children: @escaping @Sendable (Int32, Int32) -> [Int32]
    ) {
        self.stat = stat
        self.threads = threads
        self.children = children
    }

    /// The real `/proc`.
    public static let live = ProcTreeSource(
        stat: { ProcStat.read(pid: $0) },
        threads: { ProcFS.numericEntries(of: "/proc/\($0)/task") },
        children: { ProcFS.pidList(at: "/proc/\($0)/task/\($1)/children") })

    /// Children of every thread of `pid`; one file for a single-threaded process.
    func allChildren(of pid: Int32, threadCount: Int) -> [Int32] {
        guard threadCount > 1 else { return children(pid, pid) }
        return threads(pid).flatMap { children(pid, $0) }
    }
}

/// Samples a program's process group from known pids: its leader, the leader's descendants, and
/// members the agent adopted as a subreaper — never a walk of all of `/proc`.
///
/// Why: the walk read every `/proc/*/stat` on the machine (~10 µs each) for every sample, which at
/// 1,000 programs cost ~19 ms per scrape. This reads ~17 µs per member (its stat and its children
/// list) and nothing else.
///
/// What is counted: processes reachable from the roots through `/proc/PID/task/*/children` that
/// are still in the group `pgid` and not zombies; a process that left the group (setsid, setpgid)
/// is not counted and neither are its descendants (a program that needs them counted runs with a
/// cgroup, which counts every descendant). A member orphaned by its parent's exit is re-parented
/// to the agent (a subreaper), no longer a descendant of the leader: ``orphans(of:excluding:source:)``
/// finds those among the agent's own children so they stay counted.
public enum ProcessTreeResources {
    /// Usage of the group `pgid`, walking down from `roots` (the leader, plus orphaned members).
    public static func sample(pgid: Int32, roots: [Int32], source: ProcTreeSource = .live) -> GroupResourceUsage {
        var usage = GroupResourceUsage(pgid: pgid)
        var pending = roots
        var seen: Set<Int32> = []
        let ticks = Double(ProcStat.ticksPerSecond)
        while let pid = pending.popLast() {
            guard seen.insert(pid).inserted, let stat = source.stat(pid), stat.processGroup == pgid, !stat.isZombie else { continue }
            usage.processCount += 1
            usage.cpuSeconds += Double(stat.userTicks + stat.systemTicks) / ticks
            usage.reapedChildrenCPUSeconds += Double(stat.childrenUserTicks + stat.childrenSystemTicks) / ticks
            usage.rssBytes += stat.residentPages * ProcStat.pageSize
            pending += source.allChildren(of: pid, threadCount: stat.threadCount)
        }
        return usage
    }

    /// Children of the agent (`agent`; nil: this process) that are not in `known` (the programs'
    /// leaders), by process group: members whose parent exited and that the agent, as subreaper,
    /// inherited. One read of the agent's children lists, plus a stat per such child.
    public static func orphans(of agent: Int32? = nil, excluding known: Set<Int32>, source: ProcTreeSource = .live) -> [Int32: [Int32]] {
        let agent = agent ?? getpid()
        let threadCount = source.stat(agent)?.threadCount ?? 2
        var byGroup: [Int32: [Int32]] = [:]
        for pid in source.allChildren(of: agent, threadCount: threadCount) where !known.contains(pid) {
            guard let stat = source.stat(pid), !stat.isZombie else { continue }
            byGroup[stat.processGroup, default: []].append(pid)
        }
        return byGroup
    }
}

extension ProcFS {
    /// Numeric names in `directory` (pids in `/proc`, thread ids in `/proc/PID/task`).
    static func numericEntries(of directory: String) -> [Int32] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
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

    /// The space-separated pids of a `children` file; empty when it cannot be read. Grows its
    /// buffer as needed: the agent's own list holds every program.
    static func pidList(at path: String) -> [Int32] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var pids: [Int32] = []
        var value: Int32 = 0
        var inNumber = false
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer in
            guard let base = buffer.baseAddress else { return }
            while true {
                let n = Glibc.read(fd, base, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                for byte in UnsafeBufferPointer(start: base, count: n) {
                    if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                        value = value &* 10 &+ Int32(byte - UInt8(ascii: "0"))
                        inNumber = true
                    } else if inNumber {
                        pids.append(value)
                        value = 0
                        inNumber = false
                    }
                }
            }
        }
        if inNumber { pids.append(value) }
        return pids
    }
}
