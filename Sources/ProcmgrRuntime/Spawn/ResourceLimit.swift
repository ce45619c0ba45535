import Glibc

/// The rlimits procmgr sets in a child before exec (`limits.nofile` and friends); the raw
/// values are the config's names.
public enum ResourceLimitKind: String, Sendable, Hashable, CaseIterable {
    case nofile, nproc, core, memlock, stack

    /// The kernel's resource number (`RLIMIT_*`).
    var resource: Int32 {
        switch self {
        case .nofile: Int32(RLIMIT_NOFILE.rawValue)
        case .nproc: Int32(__RLIMIT_NPROC.rawValue)
        case .core: Int32(RLIMIT_CORE.rawValue)
        case .memlock: Int32(__RLIMIT_MEMLOCK.rawValue)
        case .stack: Int32(RLIMIT_STACK.rawValue)
        }
    }

    /// `RLIMIT_NOFILE` and so on, for messages.
    var constantName: String { "RLIMIT_" + rawValue.uppercased() }
}

/// One rlimit for a child: `soft` is what applies, `hard` how far the child may raise it.
/// `UInt64.max` is unlimited (`RLIM_INFINITY`).
public struct ResourceLimit: Sendable, Hashable {
    public var kind: ResourceLimitKind
    public var soft: UInt64
    public var hard: UInt64

    public init(kind: ResourceLimitKind, soft: UInt64, hard: UInt64) {
        self.kind = kind
        self.soft = soft
        self.hard = hard
    }

    /// Soft = hard = `value`: what the config's `limits:` block means.
    public init(_ kind: ResourceLimitKind, _ value: UInt64) {
        self.init(kind: kind, soft: value, hard: value)
    }
}
