import Foundation
import Glibc

/// A snapshot of /proc: for every process its parent, process group, state letter and name,
/// and whether it carries the chaos run's marker in its environment (every process the agent
/// under test started, directly or not, inherits it from the agent).
struct ChaosProcTable {
    struct Entry {
        var pid: Int32
        var ppid: Int32
        var pgid: Int32
        var state: Character
        var comm: String
        var marked: Bool
        var isZombie: Bool { state == "Z" || state == "X" }
    }

    var entries: [Int32: Entry] = [:]

    /// Reads every /proc/<pid>/stat; the environment only of processes that could be ours
    /// (`marker` is `NAME=value`).
    static func read(marker: String) -> ChaosProcTable {
        var table = ChaosProcTable()
        let markerBytes = Array(marker.utf8)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return table }
        for name in names {
            guard let pid = Int32(name), var entry = stat(pid) else { continue }
            entry.marked = environment(pid).map { contains($0, markerBytes) } ?? false
            table.entries[pid] = entry
        }
        return table
    }

    /// Live (not zombie) processes that carry the marker.
    var liveMarked: [Entry] { entries.values.filter { $0.marked && !$0.isZombie } }

    func children(of pid: Int32) -> [Entry] { entries.values.filter { $0.ppid == pid } }

    func isAlive(_ pid: Int32) -> Bool { entries[pid].map { !$0.isZombie } ?? false }

    private static func stat(_ pid: Int32) -> Entry? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        let comm = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let ppid = Int32(fields[1]), let pgid = Int32(fields[2]) else { return nil }
        return Entry(pid: pid, ppid: ppid, pgid: pgid, state: state, comm: comm, marked: false)
    }

    private static func environment(_ pid: Int32) -> [UInt8]? {
        let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }

    /// Whether `variable` appears as one whole NUL-separated entry of `environment`.
    private static func contains(_ environment: [UInt8], _ variable: [UInt8]) -> Bool {
        environment.split(separator: 0).contains { $0.elementsEqual(variable) }
    }
}
