/// A process's resource limits (`limits:`): what the cgroup caps (`memoryBytes`, `cpuCores`,
/// `pids`) and what is set as an rlimit in the child before `exec` (the rest, soft = hard).
///
/// `nil` means "not limited here": the cgroup sets no cap, the rlimit is inherited from the
/// agent. `UInt64.max` in an rlimit field is `unlimited` (`RLIM_INFINITY` on Linux).
public struct LimitsSpec: Sendable, Hashable {
    /// `memory: 512MiB`; at least `minimumMemoryBytes`.
    public var memoryBytes: UInt64?
    /// `cpu: 1.5` — cores, applied as a CFS quota; in `(0, maxCPUCores]`.
    public var cpuCores: Double?
    /// Most tasks (processes and threads) at once; at least 1.
    public var pids: Int?
    /// `RLIMIT_NOFILE`.
    public var nofile: UInt64?
    /// `RLIMIT_NPROC` (per user, as the kernel counts it).
    public var nproc: UInt64?
    /// `RLIMIT_CORE` in bytes; 0 = no core files.
    public var core: UInt64?
    /// `RLIMIT_MEMLOCK` in bytes.
    public var memlock: UInt64?
    /// `RLIMIT_STACK` in bytes.
    public var stack: UInt64?

    /// Below this a process cannot even load its program: a typo (`memory: 512` meaning MiB).
    public static let minimumMemoryBytes: UInt64 = 1 << 20
    public static let maxCPUCores = 1024.0
    /// The kernel's own bound on `pid_max` (2^22).
    public static let maxPids = 4_194_304
    /// The kernel's bound on `fs.nr_open`, above which `RLIMIT_NOFILE` cannot be set.
    public static let maxNofile: UInt64 = 1_073_741_816
    /// How `unlimited` is stored in an rlimit field.
    public static let unlimited = UInt64.max

    public init(memoryBytes: UInt64? = nil, cpuCores: Double? = nil, pids: Int? = nil, nofile: UInt64? = nil,
                nproc: UInt64? = nil, core: UInt64? = nil, memlock: UInt64? = nil, stack: UInt64? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuCores = cpuCores
        self.pids = pids
        self.nofile = nofile
        self.nproc = nproc
        self.core = core
        self.memlock = memlock
        self.stack = stack
    }
}
