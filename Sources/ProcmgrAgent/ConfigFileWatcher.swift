import Glibc
import ProcmgrRuntime
import ProcmgrSupport

/// Notices changes of the config file and of the env files it names: woken by inotify on the
/// files' directories, confirmed by each file's identity (device, inode, size, mtime).
///
/// Why the directory and not the file: editors and config-management tools replace files by
/// rename, and Kubernetes swaps a `..data` symlink next to the file; a watch on the file itself
/// misses both. Any event in the directory is only a hint: the `stat` decides, so unrelated
/// files there cost one `stat` each, and a file that is briefly missing (mid-rename) is not a
/// change.
///
/// The inotify descriptor and the wait's deadline live on the agent's one reactor thread
/// (``EpollThread``), beside exits, output and stops: a watcher costs no thread of its own.
///
/// Why not polling alone: a `stat` every 250 ms on the cooperative pool cost the agent ~0.1 % of
/// a core (each wake-up of a sleeping task is two thread switches), twice the whole idle budget
/// with 1,000 children. inotify costs nothing while nothing happens. A slow poll remains as a
/// net for file systems whose changes inotify does not see (NFS, some FUSE mounts), and if
/// inotify cannot be set up at all (watch limits), the watcher polls at `fallbackInterval`.
struct ConfigFileWatcher: Sendable {
    let path: String
    /// Further files whose change is a change of the config (the env files the last good config
    /// read), asked again after every reported change, since a reload may change the list.
    let alsoWatching: @Sendable () -> [String]
    /// The agent's reactor, where the inotify descriptor is watched.
    let reactor: EpollThread
    /// The poll period when inotify is unavailable.
    let fallbackInterval: Duration
    /// The safety-net poll period while inotify works.
    var safetyInterval: Duration = .seconds(10)
    /// Quiet time after an event before looking: a tool that writes in several steps is read
    /// once it is done, not in between.
    var settleDelay: Duration = .milliseconds(20)

    private struct Signature: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
    }

    /// The last seen signature of each watched file (`nil`: not seen yet), in watch order.
    private typealias Signatures = [(path: String, signature: Signature?)]

    init(path: String, interval: Duration, reactor: EpollThread, alsoWatching: @escaping @Sendable () -> [String] = { [] }) {
        self.path = path
        self.reactor = reactor
        self.fallbackInterval = interval
        self.alsoWatching = alsoWatching
    }

    /// Calls `onChange` after each change of any watched file until the task is cancelled.
    /// `onArmed` runs once the watch is in place: changes from then on are seen.
    func run(onArmed: @Sendable () -> Void = {}, onChange: @Sendable () async -> Void) async {
        var last = signatures(of: paths(), keeping: [])
        var directories = Self.watchedDirectories(ofAll: last.map(\.path))
        var events = DirectoryEvents(directories: directories, reactor: reactor)
        defer { events?.close() }
        onArmed()
        while !Task.isCancelled {
            if let events {
                let woken = await events.next(timeout: safetyInterval)
                guard !Task.isCancelled else { return }
                if woken {
                    do { try await Task.sleep(for: settleDelay) } catch { return }
                    events.discardPending()
                }
            } else {
                do { try await Task.sleep(for: fallbackInterval) } catch { return }
            }
            let now = signatures(of: last.map(\.path), keeping: last)
            guard !now.elementsEqual(last, by: { $0.path == $1.path && $0.signature == $1.signature }) else { continue }
            last = now
            await onChange()
            // The reload may have changed which env files matter. Files watched before keep the
            // signature last reported, so an edit during the reload is still seen next time.
            last = signatures(of: paths(), keeping: last, baselineOnly: true)
            let wanted = Self.watchedDirectories(ofAll: last.map(\.path))
            if wanted != directories {
                events?.close()
                directories = wanted
                events = DirectoryEvents(directories: directories, reactor: reactor)
            }
        }
    }

    private func paths() -> [String] {
        var seen: Set<String> = [path]
        return [path] + alsoWatching().filter { seen.insert($0).inserted }
    }

    /// The signature of each of `paths` now. A file that cannot be `stat`ed (briefly missing
    /// mid-rename) keeps its signature from `previous`. With `baselineOnly`, files already in
    /// `previous` keep theirs and only new ones are looked at.
    private func signatures(of paths: [String], keeping previous: Signatures, baselineOnly: Bool = false) -> Signatures {
        let known = Dictionary(previous.map { ($0.path, $0.signature) }, uniquingKeysWith: { first, _ in first })
        return paths.map { path in
            let old = known[path] ?? nil
            if baselineOnly, known[path] != nil { return (path, old) }
            return (path, signature(of: path) ?? old)
        }
    }

    private func signature(of path: String) -> Signature? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Signature(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: Int(info.st_mtim.tv_sec), modifiedNanoseconds: Int(info.st_mtim.tv_nsec))
    }

    /// The directories of every file in `paths`, each once (see `watchedDirectories(of:)`).
    static func watchedDirectories(ofAll paths: [String]) -> [String] {
        var directories: [String] = []
        for directory in paths.flatMap(watchedDirectories(of:)) where !directories.contains(directory) {
            directories.append(directory)
        }
        return directories
    }

    /// The file's directory and, when the file is a symlink into another directory, the
    /// target's too (an in-place edit there changes nothing in the link's directory). A target
    /// that moves later (a swapped link) is re-read by the safety poll.
    static func watchedDirectories(of path: String) -> [String] {
        var directories = [directory(of: path)]
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            let target = directory(of: String(cString: resolved))
            if !directories.contains(target) { directories.append(target) }
        }
        return directories
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}

/// inotify events of one directory, as "something happened" wake-ups on the reactor.
private final class DirectoryEvents: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// Closed, or the waiting task was cancelled: every wait returns at once.
        var closed = false
    }

    private let fd: Int32
    private let reactor: EpollThread
    private let token: EpollThread.Token
    private let timer: EpollThread.TimerToken
    private let state = LockedState(State())

    /// `nil` when inotify is unavailable here (no watches left, an unsupported file system).
    init?(directories: [String], reactor: EpollThread) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM) | UInt32(IN_CREATE)
            | UInt32(IN_DELETE) | UInt32(IN_ATTRIB) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
        guard directories.allSatisfy({ inotify_add_watch(fd, $0, mask) >= 0 }) else {
            Glibc.close(fd)
            return nil
        }
        self.fd = fd
        self.reactor = reactor
        self.token = reactor.makeToken()
        self.timer = reactor.makeTimerToken()
        do {
            try reactor.register(fd: fd, events: EpollThread.Events.readable, token: token) { [self] _ in
                // Level-triggered: drain, or the loop would spin on the same events.
                discardPending()
                wake(with: true)
            }
        } catch {
            Glibc.close(fd)
            return nil
        }
    }

    /// Waits for an event; `false` when `timeout` passed without one (or the task was
    /// cancelled: cancellation wakes the wait).
    func next(timeout: Duration) async -> Bool {
        let already = state.withLock { state -> Bool in
            defer { state.pending = false }
            return state.pending
        }
        if already { return true }
        let deadline = EpollThread.deadline(after: timeout)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let resumeNow = state.withLock { state -> Bool? in
                    if state.closed { return false }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow); return }
                reactor.schedule(timer, at: deadline) { [self] in wake(with: false) }
            }
        } onCancel: {
            // Also when the wait has not begun yet: `closed` makes it return at once.
            state.withLock { $0.closed = true }
            wake(with: false)
        }
    }

    /// Reads and drops the queued events (they are only hints).
    func discardPending() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    func close() {
        state.withLock { $0.closed = true }
        wake(with: false)
        reactor.cancelTimer(timer)
        reactor.deregister(token, closing: true)
    }

    private func wake(with event: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter else {
                if event { state.pending = true }
                return nil
            }
            state.waiter = nil
            return waiter
        }
        if let waiter {
            reactor.cancelTimer(timer)
            waiter.resume(returning: event)
        }
    }
}
