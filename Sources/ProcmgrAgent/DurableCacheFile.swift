import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The on-disk copy of the last desired state the agent accepted from a remote source
/// (`admin.cache_file`, `etcd.cache_file`), so an agent restarted during an outage of that source
/// starts from it.
///
/// Written atomically — a temp file in the same directory, fsynced, then renamed over the old
/// copy — because an agent killed mid-write must never find half a body at its next start: a
/// torn cache would turn an outage into an agent that cannot start at all.
struct DurableCacheFile: Sendable {
    let path: String
    /// What messages call the file ("admin cache") and the config key that sets it.
    let label: String
    let configKey: String

    /// Why the cache could not be read or written, worded for the operator (path, fix).
    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    init(path: String, label: String = "admin cache", configKey: String = "admin.cache_file") {
        self.path = path
        self.label = label
        self.configKey = configKey
    }

    /// The cached body; `nil` when there is no cache file yet.
    func read() throws(Failure) -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Failure(message: "\(label) \(path) exists but cannot be read (\(error.localizedDescription)): check its permissions")
        }
    }

    /// Replaces the cached body with `data`, creating the directory if it is missing.
    func store(_ data: Data) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw failure("cannot create directory \(directory) (\(error.localizedDescription))")
            }
        }
        let name = (path as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).tmp-\(getpid())"
        do throws(Failure) {
            try writeDurably(data, to: temporary)
            guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) over it (\(errnoText()))") }
        } catch {
            unlink(temporary)
            throw error
        }
        syncDirectory(directory.isEmpty ? "." : directory)
    }

    private func writeDurably(_ data: Data, to file: String) throws(Failure) {
        // 0600: the body carries commands and environments the operator may not want world-readable.
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(file) (\(errnoText()))") }
        defer { close(descriptor) }
        let complete = data.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }  // an empty body: nothing to write
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, base + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        guard complete else { throw failure("cannot write \(file) (\(errnoText()))") }
        guard fsync(descriptor) == 0 else { throw failure("cannot fsync \(file) (\(errnoText()))") }
    }

    /// Makes the rename itself durable; best effort, as a lost rename only means an older cache.
    private func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    private func failure(_ detail: String) -> Failure {
        Failure(message: "\(label) \(path): \(detail); check \(configKey) and the directory's permissions")
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}
