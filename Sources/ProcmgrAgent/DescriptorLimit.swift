import Foundation
import Glibc
import ProcmgrSupport

/// The agent's open-file limit (`RLIMIT_NOFILE`).
///
/// Distributions start processes with a soft limit of 1,024 (or a few thousand) and a higher hard
/// limit. An agent supervising thousands of processes holds two descriptors for each (its output
/// pipes; see ``DescriptorBudget``) beside the API's connections; at the soft limit a crashed
/// child could not be restarted (`EMFILE`). The soft limit is only a default an unprivileged
/// process may raise itself up to the hard one, so the agent does, once, at start; with
/// `CAP_SYS_RESOURCE` (root, unless a container dropped it) it first raises the hard limit to the
/// kernel's ceiling, `fs.nr_open`.
///
/// Children do not inherit a raised hard limit: a program that loops `close()` up to its limit,
/// or uses `select()`, should see what it would have seen without procmgr. So when the hard
/// limit was raised, each child without `limits.nofile` gets the limit the agent started with
/// (soft = the old hard limit, as an unprivileged agent gives its children): ``childDefault``.
enum DescriptorLimit {
    struct Raise: Equatable {
        let from: Int
        let to: Int
        /// The hard limit before, when this raise lifted it too.
        let hardFrom: Int?
    }

    /// The limits the agent started with, when it raised its hard limit (else `nil`).
    private static let startingHard = LockedState<UInt64?>(nil)

    /// The soft limit now.
    static var soft: Int { current.map { Int(clamping: $0.rlim_cur) } ?? 1024 }

    /// The hard limit now.
    static var hard: Int { current.map { Int(clamping: $0.rlim_max) } ?? 1024 }

    private static var current: rlimit? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return limit
    }

    /// What a child without `limits.nofile` gets: `nil` (inherit the agent's) unless the agent
    /// raised its hard limit, then the hard limit it started with, as soft and hard.
    static var childDefault: UInt64? { startingHard.withLock { $0 } }

    /// The highest hard limit this process could set: `fs.nr_open` with `CAP_SYS_RESOURCE` (root
    /// outside a container that drops it), else its hard limit.
    static var attainable: Int {
        canRaiseHard ? max(hard, nrOpen() ?? hard) : hard
    }

    /// Whether this process has `CAP_SYS_RESOURCE` in its effective set (bit 24 of `CapEff` in
    /// /proc/self/status): root in a container often lacks it, and then cannot raise a hard limit.
    static var canRaiseHard: Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << 24) != 0
    }

    /// Raises the hard limit toward `fs.nr_open` where allowed (root), then the soft limit to the
    /// hard one. Returns the change, `nil` if there was none to make or it failed (the limits
    /// then stay what they were).
    static func raise() -> Raise? {
        guard var limit = current else { return nil }
        let before = limit
        var hardFrom: Int?
        if canRaiseHard, let ceiling = nrOpen(), limit.rlim_max != rlim_t.max, rlim_t(ceiling) > limit.rlim_max {
            var lifted = limit
            lifted.rlim_max = rlim_t(ceiling)
            lifted.rlim_cur = rlim_t(ceiling)
            // EPERM all the same (a security module): it keeps its hard limit.
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lifted) == 0 {
                startingHard.withLock { $0 = UInt64(before.rlim_max) }
                hardFrom = Int(clamping: before.rlim_max)
                limit = lifted
            }
        }
        var target = limit.rlim_max
        // An unlimited hard limit cannot be the soft one: the kernel caps it at fs.nr_open.
        if target == rlim_t.max { target = rlim_t(nrOpen() ?? 1 << 20) }
        if target > limit.rlim_cur {
            limit.rlim_cur = target
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
                return hardFrom.map { Raise(from: Int(clamping: before.rlim_cur), to: Int(clamping: limit.rlim_max), hardFrom: $0) }
            }
        }
        guard limit.rlim_cur != before.rlim_cur || hardFrom != nil else { return nil }
        return Raise(from: Int(clamping: before.rlim_cur), to: Int(clamping: limit.rlim_cur), hardFrom: hardFrom)
    }

    private static func nrOpen() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

}
