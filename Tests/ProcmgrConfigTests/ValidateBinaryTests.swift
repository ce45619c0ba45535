import Foundation
import Testing
@testable import ProcmgrConfig
#if canImport(Glibc)
import Glibc
#endif

/// The real `procmgr validate` on documents that used to kill it with SIGSEGV: it must exit
/// with status 2 and the problem, never by a signal. Run as a child process because a crash
/// here would otherwise take the whole test run with it.
@Suite("procmgr validate, the binary")
struct ValidateBinaryTests {
    struct Outcome {
        var reason: Process.TerminationReason
        var status: Int32
        var output: String
    }

    /// Runs `procmgr validate --config <path>`; fails loudly after 60 s.
    private func validate(_ path: String) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try procmgrPath())
        process.arguments = ["validate", "--config", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Its report is far below a pipe's 64 KiB, so it can exit before anything is read.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                process.terminate()
                throw ValidateBinaryFailure("procmgr validate \(path) still running after 60 s")
            }
            usleep(1_000)
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return Outcome(reason: process.terminationReason, status: process.terminationStatus,
                       output: String(decoding: data, as: UTF8.self))
    }

    @Test("20,000 nested [ in YAML: exit 2 with the problem, not a segfault")
    func deepFlowYAML() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/deep.yaml"
            try Support.write(String(repeating: "[", count: 20_000) + "\n", to: path)
            let outcome = try validate(path)
            #expect(outcome.reason == .exit, "terminated by signal \(outcome.status)")
            #expect(outcome.status == 2)
            #expect(outcome.output.contains("\(path): invalid, 1 problem\n"))
            #expect(outcome.output.contains(": nested deeper than 64 levels (at line 1, column 65)\n"))
        }
    }

    @Test("2,000 nested YAML mappings: exit 2 with the problem, not a segfault")
    func deepBlockYAML() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/deep.yaml"
            let text = (0..<2_000).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " x\n"
            try Support.write(text, to: path)
            let outcome = try validate(path)
            #expect(outcome.reason == .exit, "terminated by signal \(outcome.status)")
            #expect(outcome.status == 2)
            #expect(outcome.output.contains(": nested deeper than 64 levels (at line 65, column 65)\n"))
        }
    }

    @Test("a FIFO as the config: exit 2 at once, naming it")
    func fifo() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/procmgr.yaml"
            try #require(mkfifo(path, 0o600) == 0)
            let outcome = try validate(path)
            #expect(outcome.reason == .exit)
            #expect(outcome.status == 2)
            #expect(outcome.output.contains("\(path): is a FIFO (named pipe), not a regular file\n"))
        }
    }
}

struct ValidateBinaryFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `procmgr`, built next to this test bundle (as the agent tests find it). `swift build
/// --build-tests` and `swift test` build every product, this one included.
func procmgrPath() throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    var directory = exe
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/procmgr"
        if access(candidate, X_OK) == 0, !FileManager.default.fileExists(atPath: candidate + "/") { return candidate }
        if directory.hasSuffix("/.build") || directory.isEmpty { break }
    }
    throw ValidateBinaryFailure("procmgr not found next to \(exe); run `swift build` first")
}
