extension ProcessCgroup {
    private static let cpuKeys: [[UInt8]] = [Array("usage_usec".utf8), Array("throttled_usec".utf8)]
    private static let v1ThrottleKeys: [[UInt8]] = [Array("throttled_time".utf8)]
    private static let v2MemoryKeys: [[UInt8]] = [Array("anon".utf8), Array("file_mapped".utf8)]
    private static let v1MemoryKeys: [[UInt8]] = [Array("total_rss".utf8), Array("total_mapped_file".utf8)]

    /// What the cgroup's accounting says (see ``CgroupUsage`` for the files); fields the host
    /// cannot tell are nil. Two or three small reads (``CgroupStatReader``); `readingLimit:
    /// false` skips the memory limit's file (a caller that set the limit knows it: one read less
    /// per process and scrape).
    public func usage(readingLimit: Bool = true) -> CgroupUsage {
        var usage = CgroupUsage()
        let unifiedCPU = unified.flatMap { CgroupStatReader.values($0 + "/cpu.stat", keys: Self.cpuKeys) }
        if let microseconds = unifiedCPU?[0] {
            usage.cpuSeconds = Double(microseconds) / 1e6
        } else if let directory = v1[.cpuacct], let nanoseconds = CgroupFiles.readNumber(directory + "/cpuacct.usage") {
            usage.cpuSeconds = Double(nanoseconds) / 1e9
        }
        if let microseconds = unifiedCPU?[1] ?? nil, unifiedControllers.contains(.cpu) {
            usage.throttledSeconds = Double(microseconds) / 1e6
        } else if let directory = v1[.cpu], let nanoseconds = CgroupStatReader.values(directory + "/cpu.stat", keys: Self.v1ThrottleKeys)?[0] {
            usage.throttledSeconds = Double(nanoseconds) / 1e9
        }
        if unifiedControllers.contains(.memory), let unified {
            if let stat = CgroupStatReader.values(unified + "/memory.stat", keys: Self.v2MemoryKeys), let anon = stat[0] {
                usage.memoryBytes = anon + (stat[1] ?? 0)
            }
            if readingLimit { usage.memoryLimitBytes = CgroupFiles.readNumber(unified + "/memory.max") }
        } else if let directory = v1[.memory] {
            if let stat = CgroupStatReader.values(directory + "/memory.stat", keys: Self.v1MemoryKeys), let rss = stat[0] {
                usage.memoryBytes = rss + (stat[1] ?? 0)
            }
            // v1 reports "unlimited" as the largest page-aligned counter value (~2^63).
            if readingLimit {
                usage.memoryLimitBytes = CgroupFiles.readNumber(directory + "/memory.limit_in_bytes").flatMap { $0 >= 1 << 62 ? nil : $0 }
            }
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
