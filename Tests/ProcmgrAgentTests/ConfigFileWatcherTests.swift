import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing
@testable import ProcmgrAgent

/// The config file watcher with its polls out of reach (10 minutes): only inotify can make these
/// pass. Real files and a real inotify; each change awaited with a deadline that fails loudly.
@Suite struct ConfigFileWatcherTests {
    /// One reactor for every watcher of the suite, as the agent shares its one.
    static let reactor: EpollThread = {
        do {
            return try EpollThread(name: "config-watch-test")
        } catch {
            fatalError("cannot start the reactor: \(error)")
        }
    }()

    /// Starts a watcher on `path` and returns once its watch is in place; `changes` counts what
    /// it reported.
    private func start(_ path: String, changes: LockedState<Int>, alsoWatching: @escaping @Sendable () -> [String] = { [] })
        async -> Task<Void, Never> {
        var watcher = ConfigFileWatcher(path: path, interval: .seconds(600), reactor: Self.reactor, alsoWatching: alsoWatching)
        watcher.safetyInterval = .seconds(600)
        let (armedStream, armed) = AsyncStream<Void>.makeStream()
        let task = Task { [watcher] in
            await watcher.run(onArmed: { armed.yield(); armed.finish() }) { changes.withLock { $0 += 1 } }
        }
        for await _ in armedStream {}
        return task
    }

    @Test func inPlaceRewriteAndRenameAreSeen() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try "processes: []\n".write(toFile: file, atomically: false, encoding: .utf8)
        let changes = LockedState(0)
        let task = await start(file, changes: changes)
        defer { task.cancel() }

        try "processes: [] # rewritten in place\n".write(toFile: file, atomically: false, encoding: .utf8)
        try await eventually("an in-place rewrite is reported") { changes.withLock { $0 } == 1 }
        // What editors and `write(atomically:)` do: a new file renamed over the old one.
        try "processes: [] # replaced\n".write(toFile: file, atomically: true, encoding: .utf8)
        try await eventually("a rename over the file is reported") { changes.withLock { $0 } == 2 }
    }

    @Test func aConfigMapStyleSymlinkSwapIsSeen() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Laid out like a Kubernetes ConfigMap volume: the file is a symlink through `..data`.
        try FileManager.default.createDirectory(atPath: directory + "/..v1", withIntermediateDirectories: false)
        try "processes: []\n".write(toFile: directory + "/..v1/procmgr.yaml", atomically: false, encoding: .utf8)
        #expect(symlink("..v1", directory + "/..data") == 0)
        #expect(symlink("..data/procmgr.yaml", directory + "/procmgr.yaml") == 0)
        let changes = LockedState(0)
        let task = await start(directory + "/procmgr.yaml", changes: changes)
        defer { task.cancel() }

        // Edited in place at its target (another directory, watched too).
        try "processes: [] # edited at the target\n".write(toFile: directory + "/..v1/procmgr.yaml", atomically: false, encoding: .utf8)
        try await eventually("an in-place edit of the symlink's target is reported") { changes.withLock { $0 } == 1 }
        // The swap: a new version directory, then `..data` renamed over to point at it.
        try FileManager.default.createDirectory(atPath: directory + "/..v2", withIntermediateDirectories: false)
        try "processes: [] # version 2\n".write(toFile: directory + "/..v2/procmgr.yaml", atomically: false, encoding: .utf8)
        #expect(symlink("..v2", directory + "/..data_tmp") == 0)
        #expect(rename(directory + "/..data_tmp", directory + "/..data") == 0)
        try await eventually("the symlink swap is reported") { changes.withLock { $0 } == 2 }
    }

    @Test func cancellingTheWatcherEndsItAtOnce() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "processes: []\n".write(toFile: directory + "/procmgr.yaml", atomically: false, encoding: .utf8)
        let task = await start(directory + "/procmgr.yaml", changes: LockedState(0))
        task.cancel()
        // With the safety poll at 10 minutes, only a wait that cancellation wakes ends in time.
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await task.value; return true }
            group.addTask { try? await Task.sleep(for: .seconds(20)); return false }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        #expect(ended, "the watcher was still running 20 s after its task was cancelled")
    }

    @Test func envFilesInOtherDirectoriesAreWatchedAndTheListFollowsReloads() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for sub in ["etc", "env1", "env2"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: false)
        }
        let config = directory + "/etc/procmgr.yaml"
        let first = directory + "/env1/a.env", second = directory + "/env2/b.env"
        try "processes: []\n".write(toFile: config, atomically: false, encoding: .utf8)
        try "A=1\n".write(toFile: first, atomically: false, encoding: .utf8)
        try "B=1\n".write(toFile: second, atomically: false, encoding: .utf8)
        // What the controller would report: the env files of the config last applied.
        let watched = LockedState([first])
        let changes = LockedState(0)
        let task = await start(config, changes: changes, alsoWatching: { watched.withLock { $0 } })
        defer { task.cancel() }

        try "A=2\n".write(toFile: first, atomically: false, encoding: .utf8)
        try await eventually("an edit of an env file in another directory is reported") { changes.withLock { $0 } == 1 }
        // A reload names a second env file: the list is asked again after a reported change.
        watched.withLock { $0 = [first, second] }
        try "processes: [] # now with b.env\n".write(toFile: config, atomically: true, encoding: .utf8)
        try await eventually("the config change is reported") { changes.withLock { $0 } == 2 }
        try "B=3\n".write(toFile: second, atomically: true, encoding: .utf8)
        try await eventually("an env file added by a reload is watched from then on") { changes.withLock { $0 } == 3 }
    }
}
