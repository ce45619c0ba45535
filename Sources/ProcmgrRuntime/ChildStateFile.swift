#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

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

    /// Record for a running process (reads the session from /proc).
    public init(name: String, process: ProcessHandle) {
        let stat = ProcStat.read(pid: process.pid)
        self.init(name: name, pid: process.pid, pgid: process.pgid, startTime: process.startTime == 0 ? (stat?.startTime ?? 0) : process.startTime, session: stat?.session)
    }
}

/// The list of live children, kept on disk so a restarted agent can find what a crashed one
/// left behind (see ``OrphanSweeper``).
///
/// Why atomic replace: the agent may die at any instant; readers must see either the old or
/// the new complete file, never a torn one. Each change writes `PATH.tmp`, fsyncs it, renames it
/// over `PATH` and fsyncs the directory (when `durable`).
public final class ChildStateFile: Sendable {
    struct Document: Codable {
        var version: Int
        var agentPID: Int32
        var children: [ChildRecord]
    }

    public let path: String
    private let durable: Bool
    private let records = Mutex<[Int32: ChildRecord]>([:])

    /// - Parameter durable: fsync file and directory on every write (off only for tests or
    ///   tmpfs).
    public init(path: String, durable: Bool = true) {
        self.path = path
        self.durable = durable
    }

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
        records.withLock { $0.values.sorted { $0.pid < $1.pid } }
    }

    /// Reads a state file. A missing file is an empty list; a corrupt one is an error.
    public static func load(path: String) throws(SystemError) -> [ChildRecord] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw .current("open(\(path))")
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .current("read(\(path))") }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        if data.isEmpty { return [] }
        do {
            return try JSONDecoder().decode(Document.self, from: Data(data)).children
        } catch {
            throw SystemError("parse state file \(path) (\(error))", errno: EINVAL)
        }
    }

    private func update(_ change: (inout [Int32: ChildRecord]) -> Void) throws(SystemError) {
        // The lock is held while writing so concurrent changes land in order.
        let failure = records.withLock { records -> SystemError? in
            change(&records)
            let document = Document(version: 1, agentPID: getpid(), children: records.values.sorted { $0.pid < $1.pid })
            do throws(SystemError) {
                try write(document)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    private func write(_ document: Document) throws(SystemError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(document)) + [UInt8(ascii: "\n")]
        } catch {
            throw SystemError("encode state file (\(error))", errno: EINVAL)
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .current("open(\(temporary))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
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
