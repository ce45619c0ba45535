import Glibc
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// The state file's own encoder and its group commit (the sweep and adoption tests use it
/// through real agents).
@Suite struct ChildStateFileTests {
    private func temporaryPath() throws -> String {
        var template = Array("/tmp/procmgr-statefile-XXXXXX".utf8CString)
        let directory = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        return directory + "/children.json"
    }

    @Test func recordsSurviveTheRoundTripWithAwkwardStrings() throws {
        let path = try temporaryPath()
        var odd = ChildRecord(name: "a.b-c_1", pid: 42, pgid: 42, startTime: 18_446_744_073_709_551_615, session: 7)
        odd.configFingerprint = "quote\" backslash\\ tab\t newline\n bell\u{07} del\u{7F} é 🚀"
        odd.port = 30_001
        odd.stdoutPath = "/tmp/out \"x\".fifo"
        odd.stderrPath = "/tmp/err\\y.fifo"
        let plain = ChildRecord(name: "plain", pid: 7, pgid: 5, startTime: 0)  // every optional absent
        let file = ChildStateFile(path: path, durable: false)
        try file.replaceAll([odd, plain])
        let loaded = try ChildStateFile.load(path: path)
        #expect(loaded == [plain, odd], "sorted by pid, every field as written")
    }

    @Test func aRecordedChildIsOnDiskOnceCommitted() async throws {
        let path = try temporaryPath()
        let file = ChildStateFile(path: path, durable: false)
        var generation: ChildStateFile.Generation = 0
        for index in 0..<500 {
            generation = file.record(ChildRecord(name: "p\(index)", pid: Int32(1_000 + index), pgid: Int32(1_000 + index), startTime: UInt64(index)))
        }
        await file.committed(generation)
        #expect(try ChildStateFile.load(path: path).map(\.pid) == (0..<500).map { Int32(1_000 + $0) })

        let removal = file.forget(pid: 1_000)
        await file.committed(removal)
        #expect(try ChildStateFile.load(path: path).count == 499)
        // Already covered: returns at once.
        await file.committed(generation)
    }

    @Test func flushWritesWhatIsPending() throws {
        let path = try temporaryPath()
        let file = ChildStateFile(path: path, durable: false)
        file.record(ChildRecord(name: "x", pid: 9, pgid: 9, startTime: 1))
        try file.flush()
        #expect(try ChildStateFile.load(path: path).map(\.name) == ["x"])
    }
}

/// What the state file does when the disk misbehaves: it never stops the agent, and says so.
@Suite struct ChildStateFileFaultTests {
    @Test("a corrupt state file is moved aside, the sweep runs and the agent can start")
    func corruptFileIsMovedAside() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/children.json"
        let garbage = #"{"agentPID":12,"children":[{"name":"half-writ"#
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        #expect(write(fd, garbage, garbage.utf8.count) == garbage.utf8.count)
        close(fd)
        #expect(throws: SystemError.self) { try ChildStateFile.load(path: path) }

        let report = try await OrphanSweeper.sweep(stateFile: path)
        #expect(report.killed.isEmpty && report.stale.isEmpty && report.survivors.isEmpty)
        #expect(access(path, F_OK) != 0, "the corrupt file no longer stands in the way")
        let asides = directoryEntries(directory).filter { $0.hasPrefix("children.json.corrupt-") }
        try #require(asides.count == 1, "moved aside once: \(directoryEntries(directory))")
        let suffix = try #require(Int(asides[0].dropFirst("children.json.corrupt-".count)), "a unix time: \(asides[0])")
        #expect(abs(suffix - time(nil)) < 60)
        #expect(readWhole(directory + "/" + asides[0]) == garbage, "kept for a post-mortem, byte for byte")

        // The agent then writes a fresh file in its place, and adoption of the new file works.
        let file = ChildStateFile(path: path, durable: false)
        try file.replaceAll([])
        #expect(try ChildStateFile.load(path: path).isEmpty)
        #expect(try OrphanSweeper.adopt(stateFile: path).adopted.isEmpty)
    }

    @Test("a failing write is counted, reported, shows as staleness and is retried until the file is current")
    func writeFailuresAreCounted() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        // A regular file where the state directory should be: open() fails with ENOTDIR, for
        // root too (permission bits would not stop root).
        let blocker = directory + "/state"
        let fd = open(blocker, O_WRONLY | O_CREAT, 0o644)
        try #require(fd >= 0)
        close(fd)
        let file = ChildStateFile(path: blocker + "/children.json", durable: false)
        let observed = LockedState<[SystemError]>([])
        file.onWriteFailure { error in observed.withLock { $0.append(error) } }

        #expect(throws: SystemError.self) { try file.upsert(ChildRecord(name: "a", pid: 100, pgid: 100, startTime: 1)) }
        #expect(file.writeFailureCount == 1)
        #expect(file.lastSuccessfulWrite == nil)
        // The group-commit path: the waiter is released (nothing may hang on a bad disk) and
        // the failure counted.
        await file.committed(file.record(ChildRecord(name: "b", pid: 101, pgid: 101, startTime: 1)))
        #expect(file.writeFailureCount >= 2)
        let errors = observed.withLock { $0 }
        #expect(errors.count >= 2)
        #expect(errors.allSatisfy { $0.errno == ENOTDIR }, "\(errors)")

        // The directory appears: the writer's retry puts every record on disk without waiting
        // for another change (a stale file would make a restarted agent sweep the wrong pids).
        #expect(unlink(blocker) == 0 && mkdir(blocker, 0o755) == 0)
        let before = Double(time(nil))
        try await eventually("the writer's retry wrote every record", timeout: .seconds(10)) {
            (try? ChildStateFile.load(path: blocker + "/children.json").map(\.pid)) == [100, 101]
        }
        let success = try #require(file.lastSuccessfulWrite)
        #expect(success >= before - 1 && success <= Double(time(nil)) + 1)
        // And changes reach the disk as usual again.
        try file.upsert(ChildRecord(name: "c", pid: 102, pgid: 102, startTime: 1))
        #expect(try ChildStateFile.load(path: blocker + "/children.json").map(\.pid) == [100, 101, 102])
    }
}

private func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

private func readWhole(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
