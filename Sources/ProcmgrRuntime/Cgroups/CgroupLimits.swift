/// The limits a process cgroup enforces; nil = unlimited.
public struct CgroupLimits: Sendable, Hashable {
    /// The memory (RAM) the process and its descendants may use; swap is set to 0 beside it, so
    /// an allocation past the limit is OOM-killed instead of being hidden by swapping.
    public var memoryBytes: UInt64?
    /// CPU time as cores (a CFS quota of `cores × 100 ms` per 100 ms period).
    public var cpuCores: Double?
    /// The number of tasks (processes and threads).
    public var pids: Int?

    public init(memoryBytes: UInt64? = nil, cpuCores: Double? = nil, pids: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuCores = cpuCores
        self.pids = pids
    }

    /// The CFS period procmgr uses (the kernel's default), in microseconds.
    static let cpuPeriodMicroseconds: UInt64 = 100_000

    /// The quota per period for `cpuCores`, in microseconds (the kernel's minimum is 1 ms).
    static func cpuQuotaMicroseconds(cores: Double) -> UInt64 {
        let quota = (cores * Double(cpuPeriodMicroseconds)).rounded()
        guard quota.isFinite else { return cpuPeriodMicroseconds }
        return UInt64(min(max(quota, 1000), 1e15))
    }
}

/// What a process cgroup's accounting says; a field is nil when the host cannot tell it.
public struct CgroupUsage: Sendable, Hashable {
    /// CPU time of every member, alive or exited (v2 `cpu.stat` usage_usec, v1 `cpuacct.usage`).
    public var cpuSeconds: Double?
    /// Resident memory: anonymous plus mapped file pages (v2 `memory.stat` anon + file_mapped,
    /// v1 `memory.stat` total_rss + total_mapped_file). Page cache that is not mapped is left
    /// out, as in a process's RSS: the kernel reclaims it before it OOM-kills. nil on a hybrid
    /// host for a process without a memory limit (it has no v1 memory cgroup).
    public var memoryBytes: UInt64?
    /// The memory limit in force (nil: unlimited or unknown).
    public var memoryLimitBytes: UInt64?
    /// Time the members were throttled by the CPU quota (v2 `cpu.stat` throttled_usec, v1
    /// `cpu.stat` throttled_time).
    public var throttledSeconds: Double?

    public init(cpuSeconds: Double? = nil, memoryBytes: UInt64? = nil, memoryLimitBytes: UInt64? = nil, throttledSeconds: Double? = nil) {
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.memoryLimitBytes = memoryLimitBytes
        self.throttledSeconds = throttledSeconds
    }
}
