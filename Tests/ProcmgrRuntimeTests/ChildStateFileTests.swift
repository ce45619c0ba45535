import Glibc
import ProcmgrRuntime
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
