import Foundation
@testable import ProcmgrRuntime
import Testing

/// Resident KiB of this process's read-only mappings of its own executable (/proc/self/smaps).
private func residentExecutableKiB() throws -> Int {
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let smaps = try String(contentsOfFile: "/proc/self/smaps", encoding: .utf8)
    var total = 0
    var counting = false
    for line in smaps.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let first = fields.first, first.contains("-"), fields.count >= 5 {
            // A mapping's header: range perms offset dev inode [path]
            counting = fields.count >= 6 && fields[5] == executable && fields[1].dropFirst().first == "-"
        } else if counting, fields.first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
            total += kib
        }
    }
    return total
}

@Suite("Start-up code handed back")
struct ExecutablePagesTests {
    @Test("paging out the executable's read-only mappings lowers what is resident, and code keeps running")
    func releaseLowersResidentCode() throws {
        let before = try residentExecutableKiB()
        try #require(before > 0, "no resident mapping of the executable found in /proc/self/smaps")
        let advised = SpawnThread.releaseCode()
        let after = try residentExecutableKiB()
        #expect(advised > 0, "madvise(MADV_PAGEOUT) refused (kernel older than 5.4?)")
        // Other tests run meanwhile and fault some code back: the drop, not zero, is the point.
        #expect(after < before, "resident executable pages: \(before) KiB before, \(after) KiB after")
        print("[measure] executable pages resident: \(before) KiB → \(after) KiB after MADV_PAGEOUT (\(advised / 1024) KiB advised)")
        // The code that was paged out runs again (faulted back in from the file).
        #expect(try residentExecutableKiB() > 0)
    }
}
