#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CProcmgrShims
import Glibc
public import Logging
import ProcmgrSupport

/// One live child as recorded on disk.
public struct ChildRecord: Codable, Sendable, Hashable {
    /// The process's name in the agent's configuration.
    public var name: String
    public var pid: Int32
    public var pgid: Int32
    /// Field 22 of `/proc/PID/stat`: distinguishes the child from a later process that got
    /// the same pid.
    public var startTime: UInt64
    /// Session id of the child (that of the agent that spawned it): distinguishes a leftover
    /// process group from an unrelated group that reuses the id after the leader died.
    public var session: Int32?
    /// What the child was started with (``ManagedProcess/fingerprint``): a restarted agent adopts
    /// it only if its config for `name` still has this fingerprint (`orphans: adopt`).
    public var configFingerprint: String?
    /// The port it was given, re-reserved by the agent that adopts it.
    public var port: Int?
    /// The FIFOs its stdout and stderr write to (`orphans: adopt`), reopened on adoption.
    public var stdoutPath: String?
    public var stderrPath: String?

    public init(name: String, pid: Int32, pgid: Int32, startTime: UInt64, session: Int32? = nil) {
        self.name = name
        self.pid = pid
        self.pgid = pgid
        self.startTime = startTime
        self.session = session
    }

    /// Record for a running process (the session from `getsid`, the start time from the spawn).
    public init(name: String, process: ProcessHandle) {
        // The spawn already read the start time; `getsid` is one syscall, not a /proc parse.
        let startTime = process.startTime != 0 ? process.startTime : (ProcStat.read(pid: process.pid)?.startTime ?? 0)
        // Session 0 is a real answer, not a failure: inside a PID namespace (a container, CI)
        // the session leader lives outside it and every process reports session 0. -1 means
        // the child is already gone, and /proc would not know more.
        let session = getsid(process.pid)
        self.init(name: name, pid: process.pid, pgid: process.pgid, startTime: startTime, session: session >= 0 ? session : nil)
    }
}

/// The list of live children, kept on disk so a restarted agent can find what a crashed one
/// left behind (see ``OrphanSweeper``).
///
/// Why atomic replace: the agent may die at any instant; readers must see either the old or
/// the new complete file, never a torn one. Each write goes to `PATH.tmp`, is fsynced, renamed
/// over `PATH`, and the directory is fsynced (when `durable`).
///
/// Why group commit (``record(_:)``, ``forget(pid:)``, ``committed(_:)``): the file holds every
/// child, so writing it once per spawn is quadratic — a cold start of 1,000 children wrote
/// 1,000 files of up to 1,000 records, each fsynced, on the cooperative pool, and took 38 s
/// instead of one. Changes now only mark the file dirty; one writer thread rewrites it, each
/// write carrying every change made before it began, and a caller that must know its change is
/// on disk awaits ``committed(_:)`` without holding a thread. The synchronous ``upsert(_:)``,
/// ``remove(pid:)`` and ``replaceAll(_:)`` remain for setup and tools.
///
/// Faults: a write that fails (a full disk, a read-only or vanished directory) is logged, counted
/// (``writeFailureCount``, ``onWriteFailure(_:)``: `procmgr_errors_total{phase="state"}`) and
/// shows as staleness (``lastSuccessfulWrite``); the next change tries again. A file that cannot
/// be parsed is moved aside at start-up (``loadRecovering(path:logger:)``), never a reason not
/// to start.
public final class ChildStateFile: Sendable {
    struct Document: Codable {
        var version: Int
        var agentPID: Int32
        var children: [ChildRecord]
    }

    /// A change's place in the order of changes; ``committed(_:)`` waits for a write that
    /// includes it.
    public typealias Generation = UInt64

    private struct Records {
        var byPID: [Int32: ChildRecord] = [:]
        var generation: Generation = 0
    }

    private struct Health {
        var failures = 0
        /// Unix time (seconds) of the last write that reached the disk.
        var lastSuccess: Double?
        var failureObservers: [@Sendable (SystemError) -> Void] = []
    }

    private struct Commits {
        /// The newest generation a finished write (successful or not) included.
        var written: Generation = 0
        var waiters: [(generation: Generation, continuation: CheckedContinuation<Void, Never>)] = []
        var writerStarted = false
    }

    public let path: String
    private let durable: Bool
    private let records = LockedState(Records())
    /// Held for a whole snapshot-and-write, so writes land in the order of their snapshots; the
    /// value counts the snapshots taken (a lock over `Void` is reported as a race by the thread
    /// sanitizer: it sees the zero-sized value's accesses at the object's address).
    private let writing = LockedState(0)
    private let commits = LockedState(Commits())
    private let health = LockedState(Health())
    private let logger: Logger
    /// Wakes the writer thread (a blocking eventfd; the thread sleeps in `read`).
    private let wakeFD: Int32

    /// - Parameter durable: fsync file and directory on every write (off only for tests or
    ///   tmpfs).
    public init(path: String, durable: Bool = true, logger: Logger = Logger(label: "procmgr.runtime.state-file")) {
        self.path = path
        self.durable = durable
        self.logger = logger
        self.wakeFD = procmgr_eventfd(0, 0)
    }

    deinit {
        // Only reached when the writer thread never started (it keeps the file alive).
        close(wakeFD)
    }

    // MARK: Health

    /// Writes that failed so far.
    public var writeFailureCount: Int { health.withLock { $0.failures } }

    /// When the file last reached the disk (nil: never, by this agent): a state file that no
    /// longer follows the children is stale, and a restarted agent would act on old news.
    public var lastSuccessfulWrite: Double? { health.withLock { $0.lastSuccess } }

    /// Calls `observer` after every failed write (on the writing thread; keep it short).
    public func onWriteFailure(_ observer: @escaping @Sendable (SystemError) -> Void) {
        health.withLock { $0.failureObservers.append(observer) }
    }

    // MARK: Group commit

    /// Adds or replaces the record for `record.pid`; the writer thread puts it on disk soon.
    @discardableResult
    public func record(_ record: ChildRecord) -> Generation {
        schedule { $0[record.pid] = record }
    }

    /// Removes the record for `pid` (after its group is gone); on disk soon.
    @discardableResult
    public func forget(pid: Int32) -> Generation {
        schedule { $0[pid] = nil }
    }

    /// Returns once a write that includes change `generation` has finished. A failed write also
    /// ends the wait (it is logged): nothing may hang on a full disk.
    public func committed(_ generation: Generation) async {
        let done = commits.withLock { $0.written >= generation }
        if done { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let doneNow = commits.withLock { commits -> Bool in
                if commits.written >= generation { return true }
                commits.waiters.append((generation, continuation))
                return false
            }
            if doneNow { continuation.resume() }
        }
    }

    /// Writes pending changes now, on the calling thread (before handing children to the next
    /// agent, at shutdown).
    public func flush() throws(SystemError) {
        try writeSnapshot(onlyIfNewer: true)
    }

    private func schedule(_ change: (inout [Int32: ChildRecord]) -> Void) -> Generation {
        let generation = records.withLock { records -> Generation in
            change(&records.byPID)
            records.generation += 1
            return records.generation
        }
        let startWriter = commits.withLock { commits -> Bool in
            defer { commits.writerStarted = true }
            return !commits.writerStarted
        }
        if startWriter {
            do {
                try OSThread.start(name: "procmgr-state") { [self] in self.runWriter() }
            } catch {
                // The next change tries again; until then the file is stale, which is counted.
                commits.withLock { $0.writerStarted = false }
                logger.error("cannot start the state file's writer thread", metadata: ["error": "\(error)"])
            }
        }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
        return generation
    }

    /// At most one write per this interval (or per four times the last write's duration, if
    /// longer): in a burst, each write then carries many changes (and encoding 1,000 records does
    /// not compete with the spawns 100 times a second).
    static let minimumWriteIntervalNanoseconds = 20_000_000

    /// After a failed write, how long the writer waits before it writes again by itself.
    static let retryIntervalMilliseconds: Int32 = 1_000

    /// The writer thread's loop; it lives as long as the process.
    ///
    /// A failed write (ENOSPC, a read-only or vanished directory) is retried every second until
    /// one succeeds, not only at the next change: a file left stale would make a restarted agent
    /// sweep the wrong pids (found by the chaos suite's full state directory).
    private func runWriter() {
        var failing = false
        while true {
            if failing {
                var wake = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
                if poll(&wake, 1, Self.retryIntervalMilliseconds) > 0 {
                    var count: UInt64 = 0
                    _ = read(wakeFD, &count, 8)
                }
            } else {
                var count: UInt64 = 0
                if read(wakeFD, &count, 8) < 0 { continue }  // EINTR
            }
            let began = procmgr_monotonic_ns()
            do {
                try writeSnapshot(onlyIfNewer: !failing)
                if failing { logger.notice("the state file is written again", metadata: ["path": "\(path)"]) }
                failing = false
            } catch {
                if !failing {
                    logger.error("cannot write the state file; retrying every second", metadata: ["path": "\(path)", "error": "\(error)"])
                }
                failing = true
            }
            // A rate limit on this dedicated thread, not a synchronisation: changes made
            // meanwhile are already counted on the eventfd and go into the next write. A write
            // encodes every record (~40 ms for 10,000), so back-to-back writes during a cold start
            // took a whole core from the spawns: the pause after a write is at least three times
            // what it took, so the writer stays under a quarter of a core.
            let elapsed = Int(clamping: procmgr_monotonic_ns() &- began)
            let interval = max(Self.minimumWriteIntervalNanoseconds, min(elapsed, Int.max / 4) * 4)
            if elapsed < interval {
                let remaining = interval - elapsed
                var pause = timespec(tv_sec: remaining / 1_000_000_000, tv_nsec: remaining % 1_000_000_000)
                var left = timespec()
                while nanosleep(&pause, &left) != 0, errno == EINTR { pause = left }
            }
        }
    }

    /// Snapshots the records and writes them, unless (with `onlyIfNewer`) a write already
    /// included every change. Wakes the waiters the write covered, also when it failed.
    private func writeSnapshot(onlyIfNewer: Bool) throws(SystemError) {
        try writing.withLock { (snapshots: inout Int) throws(SystemError) in
            snapshots += 1
            let (children, generation) = records.withLock { records in
                (records.byPID.values.sorted { $0.pid < $1.pid }, records.generation)
            }
            if onlyIfNewer, commits.withLock({ $0.written >= generation }) { return }
            defer { finishCommit(through: generation) }
            do throws(SystemError) {
                try write(Document(version: 1, agentPID: getpid(), children: children))
            } catch {
                let observers = health.withLock { health in
                    health.failures += 1
                    return health.failureObservers
                }
                for observer in observers { observer(error) }
                throw error
            }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            health.withLock { $0.lastSuccess = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 }
        }
    }

    private func finishCommit(through generation: Generation) {
        let ready = commits.withLock { commits -> [CheckedContinuation<Void, Never>] in
            commits.written = max(commits.written, generation)
            let written = commits.written
            let ready = commits.waiters.filter { $0.generation <= written }.map(\.continuation)
            commits.waiters.removeAll { $0.generation <= written }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    // MARK: Synchronous changes

    /// Adds or replaces the record for `record.pid` and rewrites the file.
    public func upsert(_ record: ChildRecord) throws(SystemError) {
        try update { $0[record.pid] = record }
    }

    /// Removes the record for `pid` (after its group is gone) and rewrites the file.
    public func remove(pid: Int32) throws(SystemError) {
        try update { $0[pid] = nil }
    }

    /// Replaces all records (for example after adopting) and rewrites the file.
    public func replaceAll(_ newRecords: [ChildRecord]) throws(SystemError) {
        try update { records in
            records = Dictionary(newRecords.map { ($0.pid, $0) }, uniquingKeysWith: { _, last in last })
        }
    }

    /// The records currently held, sorted by pid.
    public var current: [ChildRecord] {
        records.withLock { $0.byPID.values.sorted { $0.pid < $1.pid } }
    }

    /// Reads a state file at start-up. A file that cannot be parsed (torn by a bug, edited by
    /// hand, a disk error) is moved aside to `PATH.corrupt-<unix time>` for a post-mortem, with an
    /// error log, and counts as empty: the agent starts, and what the file would have named is
    /// left to the other lines of defence (the old guardian, PDEATHSIG, the subreaper's sweep).
    /// Errors reading it at all (permissions) are thrown.
    public static func loadRecovering(path: String, logger: Logger) throws(SystemError) -> [ChildRecord] {
        do throws(StateFileError) {
            return try decode(path: path)
        } catch {
            switch error {
            case .unreadable(let error):
                throw error
            case .corrupt(let reason):
                let aside = "\(path).corrupt-\(time(nil))"
                if rename(path, aside) == 0 {
                    logger.error(
                        "the state file is corrupt; moved it aside and starting without it (leftovers of the previous agent are not swept by it)",
                        metadata: ["path": "\(path)", "moved_to": "\(aside)", "reason": "\(reason)"])
                } else {
                    logger.error(
                        "the state file is corrupt and cannot be moved aside; starting without it",
                        metadata: ["path": "\(path)", "error": "\(SystemError.current("rename(\(path), \(aside))"))", "reason": "\(reason)"])
                }
                return []
            }
        }
    }

    private enum StateFileError: Error {
        case unreadable(SystemError)
        case corrupt(String)
    }

    /// Reads a state file. A missing file is an empty list; a corrupt one is an error.
    public static func load(path: String) throws(SystemError) -> [ChildRecord] {
        do throws(StateFileError) {
            return try decode(path: path)
        } catch {
            switch error {
            case .unreadable(let error): throw error
            case .corrupt(let reason): throw SystemError("parse state file \(path) (\(reason))", errno: EINVAL)
            }
        }
    }

    private static func decode(path: String) throws(StateFileError) -> [ChildRecord] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw .unreadable(.current("open(\(path))"))
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .unreadable(.current("read(\(path))")) }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        if data.isEmpty { return [] }
        do {
            return try JSONDecoder().decode(Document.self, from: Data(data)).children
        } catch {
            throw .corrupt("\(error)")
        }
    }

    /// Applies `change` and writes the file before returning.
    private func update(_ change: (inout [Int32: ChildRecord]) -> Void) throws(SystemError) {
        records.withLock { records in
            change(&records.byPID)
            records.generation += 1
        }
        try writeSnapshot(onlyIfNewer: false)
    }

    private func write(_ document: Document) throws(SystemError) {
        let bytes = document.encodedJSON()
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .current("open(\(temporary))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in raw.baseAddress.map { Glibc.write(fd, $0 + written, raw.count - written) } ?? 0 }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let error = SystemError.current("write(\(temporary))")
                close(fd)
                throw error
            }
            written += n
        }
        if durable && fsync(fd) != 0 {
            let error = SystemError.current("fsync(\(temporary))")
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .current("rename(\(temporary), \(path))") }
        if durable {
            let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            let dirFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dirFD >= 0 {
                _ = fsync(dirFD)
                close(dirFD)
            }
        }
    }
}
