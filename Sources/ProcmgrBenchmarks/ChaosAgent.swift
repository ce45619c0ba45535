import Foundation
import Glibc

/// One `procmgr run` under test, started as a child of the chaos driver with the run's marker
/// in its environment (every process it starts inherits it) and a soft descriptor limit of
/// 1,024, what a default system gives a service (the driver's own limit may be far higher).
/// Output is appended to one log file across every agent of the run.
final class ChaosAgent {
    let process: Process
    let port: Int
    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func start(procmgr: String, config: String, logFile: String, marker: (String, String)) throws -> ChaosAgent {
        if !FileManager.default.fileExists(atPath: logFile) { _ = FileManager.default.createFile(atPath: logFile, contents: nil) }
        guard let log = FileHandle(forWritingAtPath: logFile) else { throw Failure(description: "cannot open \(logFile)") }
        log.seekToEndOfFile()
        let startOffset = log.offsetInFile
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -Sn 1024; exec \"$0\" run --config \"$1\" --listen 127.0.0.1:0", procmgr, config]
        var environment = ProcessInfo.processInfo.environment
        environment[marker.0] = marker.1
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        // The agent prints "procmgr agent listening on http://127.0.0.1:PORT" once it serves.
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            if let port = listeningPort(in: logFile, after: startOffset) { return ChaosAgent(process: process, port: port) }
            guard process.isRunning else {
                throw Failure(description: "procmgr run exited with \(process.terminationStatus) before listening; see \(logFile)")
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw Failure(description: "procmgr run did not listen within 60 s; see \(logFile)")
    }

    private static func listeningPort(in logFile: String, after offset: UInt64) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: logFile) else { return nil }
        defer { try? handle.close() }
        handle.seek(toFileOffset: offset)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.contains("procmgr agent listening on ") {
            if let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...].prefix { $0.isNumber }) {
                return port
            }
        }
        return nil
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits (polling, with a deadline) for the agent to exit; false if it did not.
    func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }
}
