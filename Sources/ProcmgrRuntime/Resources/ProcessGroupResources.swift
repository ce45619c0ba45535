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
}

/// Samples resource usage per process group from `/proc/*/stat`.
///
/// Why by group and from /proc: a service is its whole group (shell, workers, helpers), and
/// /proc needs no cgroup setup. One scan of /proc serves any number of groups, so use
/// ``sample(pgids:)`` when sampling many.
public enum ProcessGroupResources {
    /// Usage of one group.
    public static func sample(pgid: Int32) -> GroupResourceUsage {
        sample(pgids: [pgid])[pgid] ?? GroupResourceUsage(pgid: pgid, processCount: 0, cpuSeconds: 0, reapedChildrenCPUSeconds: 0, rssBytes: 0)
    }

    /// Usage of several groups from one /proc scan. Every requested group is in the result.
    public static func sample(pgids: Set<Int32>) -> [Int32: GroupResourceUsage] {
        var result: [Int32: GroupResourceUsage] = [:]
        for pgid in pgids {
            result[pgid] = GroupResourceUsage(pgid: pgid, processCount: 0, cpuSeconds: 0, reapedChildrenCPUSeconds: 0, rssBytes: 0)
        }
        let ticks = Double(ProcStat.ticksPerSecond)
        for stat in ProcFS.allStats() where pgids.contains(stat.processGroup) && !stat.isZombie {
            guard var usage = result[stat.processGroup] else { continue }
            usage.processCount += 1
            usage.cpuSeconds += Double(stat.userTicks + stat.systemTicks) / ticks
            usage.reapedChildrenCPUSeconds += Double(stat.childrenUserTicks + stat.childrenSystemTicks) / ticks
            usage.rssBytes += stat.residentPages * ProcStat.pageSize
            result[stat.processGroup] = usage
        }
        return result
    }
}
