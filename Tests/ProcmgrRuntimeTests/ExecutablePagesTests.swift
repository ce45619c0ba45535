import ProcmgrRuntime
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
}
