import Glibc

/// Notices changes of the config file by polling its identity (device, inode, size, mtime).
///
/// Why polling and not inotify: editors and config-management tools replace files by rename,
/// which an inotify watch on the file misses and a watch on the directory floods with unrelated
/// events; a `stat` every 250 ms costs microseconds and catches every form of change within the
/// SPEC's one second. A file that is briefly missing (mid-rename) is not a change.
struct ConfigFileWatcher: Sendable {
    let path: String
    let interval: Duration

    private struct Signature: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    /// Calls `onChange` after each change until the task is cancelled.
    func run(onChange: @Sendable () async -> Void) async {
        var last = signature()
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            guard let now = signature() else { continue }
            if now != last {
                last = now
                await onChange()
            }
        }
    }

    private func signature() -> Signature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Signature(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: Int(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec))
    }
}
