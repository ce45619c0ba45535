import Foundation
import Glibc

/// Holds an exclusive `flock` on `<state_dir>/agent.lock` for the agent's lifetime.
///
/// Why: two agents sharing a state directory would sweep (kill) or adopt each other's children
/// from the shared state file. The kernel drops the lock when the process dies however it dies,
/// so a crashed agent never blocks its successor.
final class StateDirectoryLock: Sendable {
    private let fd: Int32

    init(directory: String) throws(AgentStartupError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentStartupError("state_dir \(directory) cannot be created: \(error.localizedDescription)")
        }
        let path = (directory as NSString).appendingPathComponent("agent.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AgentStartupError("\(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw AgentStartupError("another procmgr agent (pid \(holder.isEmpty ? "unknown" : holder)) is running with state_dir \(directory)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit { close(fd) }
}

/// The agent could not start; the message tells the operator what to fix.
public struct AgentStartupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
