/// Why procmgr does not use cgroups on this host (not root and nothing delegated, no or a
/// read-only cgroupfs, the subtree cannot be created). Logged once and exported; procmgr then
/// tracks processes by their process group as before.
public struct CgroupUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "cgroups unavailable: \(reason)" }
}

/// A failed operation on one process cgroup (mkdir, a limit, opening `cgroup.procs`).
public struct CgroupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was attempted ("mkdir", "write memory.max", …).
    public var operation: String
    /// The file or directory.
    public var path: String
    public var errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(operation) \(path): \(ErrnoName.describe(errno))" }
}
