/// The cgroup v1 controllers procmgr uses where the unified (v2) hierarchy lacks them, and the
/// v2 controllers it enables in its subtree (raw values are the kernel's names).
public enum CgroupController: String, Sendable, Hashable, CaseIterable {
    /// Memory limit, OOM kills, resident memory.
    case memory
    /// CPU quota and throttling.
    case cpu
    /// CPU usage (v1 only: v2 reports usage in every cgroup's `cpu.stat`).
    case cpuacct
    /// Number of tasks.
    case pids
    /// Freeze → kill → thaw where v2 `cgroup.kill` is missing (v1 only).
    case freezer
}
