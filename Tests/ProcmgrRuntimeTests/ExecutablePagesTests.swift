@testable import ProcmgrRuntime
import Testing

@Suite("Start-up code handed back")
struct ExecutablePagesTests {
    @Test("paging out the executable's code lowers what is resident, and the code keeps running")
    func releaseLowersResidentCode() async throws {
        // In a process of its own: here, tests running in parallel would fault code back in
        // between the two readings, and paging out this process's code would slow them down.
        // From a private, synced copy of the test host: the kernel keeps pages that another
        // process maps too (other tests run the test host meanwhile) and dirty page cache.
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let copy = directory + "/runtime-testhost"
        let copying = try await spawnCaptured(["sh", "-c", "cp \"$0\" \"$1\" && sync \"$1\"", try testHostPath(), copy])
        try #require(await copying.process.exit.wait(timeout: .seconds(60)) == .exited(code: 0), "\(copying.output.texts)")
        let host = try await spawnCaptured([copy, "release-code"])
        let line = try await host.output.waitFor("the page report", timeout: .seconds(60)) { $0.text.hasPrefix("PAGES ") }
        let fields = line.text.split(separator: " ").dropFirst().prefix(3).compactMap { Int($0) }
        try #require(fields.count == 3, "bad report: \(line.text)")
        let (before, after, advised) = (fields[0], fields[1], fields[2])
        #expect(before > 0, "no resident mapping of the executable: \(line.text)")
        #expect(advised > 0, "madvise(MADV_PAGEOUT) refused (kernel older than 5.4, or a binary this user does not own): \(line.text)")
        #expect(after < before, "resident executable pages: \(before) KiB before, \(after) KiB after")
        print("[measure] test host's executable pages resident: \(before) KiB → \(after) KiB after MADV_PAGEOUT (\(advised / 1024) KiB advised)")
        // It went on to print and exit: the paged-out code ran again.
        #expect(await host.process.exit.wait(timeout: .seconds(30)) == .exited(code: 0))
    }

    @Test("code is released after a burst of 32 or more spawns, at most once per 10 minutes")
    func releaseGate() {
        var gate = CodeReleaseGate()
        let start = ContinuousClock.now
        // (spawns in the burst, seconds after the start) → released?
        let bursts: [(Int, Int64)] = [(1, 0), (31, 0), (32, 0), (1_000, 599), (1_000, 600), (10, 2_000)]
        let released = bursts.map { gate.shouldRelease(afterBurstOf: $0.0, at: start.advanced(by: .seconds($0.1))) }
        // A crash-loop restart (1) and 31 are not bursts; the first burst releases; 599 s after
        // it is too soon; 600 s is not; small bursts never do.
        #expect(released == [false, false, true, false, true, false])
    }
}
