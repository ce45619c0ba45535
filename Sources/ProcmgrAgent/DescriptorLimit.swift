import Foundation
import Glibc

/// The agent's open-file limit (`RLIMIT_NOFILE`).
///
/// Distributions start processes with a soft limit of 1,024 (or a few thousand) and a far higher
/// hard limit. An agent supervising hundreds of processes holds several descriptors for each
/// (pidfd, pipes, heartbeat socket, log file) beside the API's connections; at the soft limit a
/// crashed child could not be restarted (`EMFILE`). The soft limit is only a default an
/// unprivileged process may raise itself up to the hard one, so the agent does, once, at start.
enum DescriptorLimit {
    struct Raise: Equatable {
        let from: Int
        let to: Int
    }

    /// The soft limit now.
    static var soft: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard one. Returns the change, `nil` if there was none to make
    /// (already equal) or it failed (the soft limit then stays what it was).
    static func raiseSoftToHard() -> Raise? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        var target = limit.rlim_max
        // An unlimited hard limit cannot be the soft one: the kernel caps it at fs.nr_open.
        if target == rlim_t.max { target = rlim_t(nrOpen() ?? 1 << 20) }
        guard target > limit.rlim_cur else { return nil }
        let before = limit.rlim_cur
        limit.rlim_cur = target
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return Raise(from: Int(clamping: before), to: Int(clamping: target))
    }

    private static func nrOpen() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
