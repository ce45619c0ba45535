#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CProcmgrShims
import Glibc

/// The running executable's own code pages: handing back what start-up mapped, and measuring
/// what is resident.
///
/// Why: parsing the config, reconciling and 1,000 spawns leave ~22 MiB of the agent's 28 MB text
/// segment mapped (fault-around maps 64 KiB per fault), while a settled agent runs ~1.2 MiB of it
/// idle and ~5 MiB while scraped. ``release()`` (`MADV_PAGEOUT` of the main program's
/// non-writable segments) makes the pages leave memory for real, page cache included, so PSS,
/// RSS and a cgroup's charge all drop; whatever runs later comes back by page faults. The spawn
/// thread calls it after a large burst of spawns (see `SpawnThread`).
public enum ExecutablePages {
    /// Pages out the executable's code, constants and unwind tables. Best effort: a binary this
    /// user neither owns nor may write (the kernel's page-cache rule, unless root) or a kernel
    /// older than 5.4 keeps everything mapped. Returns the bytes advised, or -1 (`errno` set).
    @discardableResult
    public static func release() -> Int {
        procmgr_release_executable_pages()
    }

    /// Resident KiB of this process's read-only mappings of its own executable
    /// (`/proc/self/smaps`), or nil when they cannot be read.
    public static func residentKiB() -> Int? {
        var link = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &link, link.count - 1)
        guard length > 0 else { return nil }
        let executable = String(decoding: link[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let smaps = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8) else { return nil }
        var total = 0
        var counting = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-"), fields.count >= 5, !first.hasSuffix(":") {
                // A mapping's header: range perms offset dev inode [path]
                let path = fields.count >= 6 ? fields[5...].joined(separator: " ") : ""
                counting = path == executable && fields[1].dropFirst().first == "-"
            } else if counting, first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                total += kib
            }
        }
        return total
    }
}

/// When the spawn thread hands start-up code back (``ExecutablePages/release()``): after a burst
/// of at least ``minimumBurst`` spawns (a cold start, a big reload) — a single restart in a crash
/// loop is not one, so the code that restart and the runtime's reactor, heartbeats and probes
/// run stays put while an operator watches — and at most once per ``interval``, because each
/// release makes the code that runs next fault back in.
struct CodeReleaseGate {
    var minimumBurst = 32
    var interval: Duration = .seconds(600)
    private var last: ContinuousClock.Instant?

    /// Whether a burst of `spawns` that ended at `now` is followed by a release; records it.
    mutating func shouldRelease(afterBurstOf spawns: Int, at now: ContinuousClock.Instant) -> Bool {
        guard spawns >= minimumBurst else { return false }
        if let last, last.duration(to: now) < interval { return false }
        last = now
        return true
    }
}
