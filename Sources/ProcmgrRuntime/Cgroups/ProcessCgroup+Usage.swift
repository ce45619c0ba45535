extension ProcessCgroup {
    /// What the cgroup's accounting says (see ``CgroupUsage`` for the files); fields the host
    /// cannot tell are nil.
    public func usage() -> CgroupUsage {
        var usage = CgroupUsage()
        let unifiedCPU = unified.flatMap { CgroupFiles.readKeyedNumbers($0 + "/cpu.stat") }
        if let microseconds = unifiedCPU?["usage_usec"] {
            usage.cpuSeconds = Double(microseconds) / 1e6
        } else if let directory = v1[.cpuacct], let nanoseconds = CgroupFiles.readNumber(directory + "/cpuacct.usage") {
            usage.cpuSeconds = Double(nanoseconds) / 1e9
        }
        if let microseconds = unifiedCPU?["throttled_usec"], unifiedControllers.contains(.cpu) {
            usage.throttledSeconds = Double(microseconds) / 1e6
        } else if let directory = v1[.cpu], let nanoseconds = CgroupFiles.readKeyedNumbers(directory + "/cpu.stat")?["throttled_time"] {
            usage.throttledSeconds = Double(nanoseconds) / 1e9
        }
        if unifiedControllers.contains(.memory), let unified {
            if let stat = CgroupFiles.readKeyedNumbers(unified + "/memory.stat"), let anon = stat["anon"] {
                usage.memoryBytes = anon + (stat["file_mapped"] ?? 0)
            }
            usage.memoryLimitBytes = CgroupFiles.readNumber(unified + "/memory.max")
        } else if let directory = v1[.memory] {
            if let stat = CgroupFiles.readKeyedNumbers(directory + "/memory.stat"), let rss = stat["total_rss"] {
                usage.memoryBytes = rss + (stat["total_mapped_file"] ?? 0)
            }
            // v1 reports "unlimited" as the largest page-aligned counter value (~2^63).
            usage.memoryLimitBytes = CgroupFiles.readNumber(directory + "/memory.limit_in_bytes").flatMap { $0 >= 1 << 62 ? nil : $0 }
        }
        return usage
    }

    /// How many processes the kernel's OOM killer ended in this cgroup (v2 `memory.events`
    /// oom_kill, v1 `memory.oom_control` oom_kill); nil without a memory controller.
    public func oomKills() -> UInt64? {
        if unifiedControllers.contains(.memory), let unified {
            return CgroupFiles.readKeyedNumbers(unified + "/memory.events")?["oom_kill"]
        }
        if let directory = v1[.memory] {
            return CgroupFiles.readKeyedNumbers(directory + "/memory.oom_control")?["oom_kill"]
        }
        return nil
    }
}
