import Foundation
import ProcmgrTestKit
import Testing

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The repository's files this target checks, found from this source file's path.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dashboard = root.appendingPathComponent("dashboards/procmgr.json")
    static let rules = root.appendingPathComponent("alerts/procmgr.rules.json")
    static let ruleTests = root.appendingPathComponent("alerts/tests")
    static let runbook = root.appendingPathComponent("docs/runbook.md")

    static func json(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("\(url.path) is not a JSON object")
        }
        return object
    }
}

/// The Debian packages' binaries. Missing ones fail the test (never skip it): `.ci/run` installs them.
enum Tools {
    static let promtool = "/usr/bin/promtool"
    static let prometheus = "/usr/bin/prometheus"
    static let alertmanager = "/usr/bin/prometheus-alertmanager"

    static func require(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("\(path) is missing: run .ci/run, which installs Debian's prometheus and prometheus-alertmanager packages")
        }
        return path
    }
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs a tool to completion through `sh`, which writes the exit status to a file. The status is
/// not taken from `Process`: this test binary also hosts the runtime's tests, whose exit watcher
/// reaps every child of the process, so `Process.terminationStatus` may never see the real one.
func runTool(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
    let directory = try TemporaryDirectory("procmgr-tool")
    defer { directory.remove() }
    let output = directory.file("output.txt")
    let status = directory.file("status")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", #"out="$1"; st="$2"; shift 2; "$@" > "$out" 2>&1; echo $? > "$st.tmp" && mv "$st.tmp" "$st""#,
                         "sh", output.path, status.path, executable] + arguments
    try process.run()
    try await eventually("\(executable) \(arguments.joined(separator: " ")) to finish", timeout: timeout) {
        FileManager.default.fileExists(atPath: status.path)
    }
    let statusText = try String(contentsOf: status, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let code = Int32(statusText) else { throw TestFailure("bad status file: \(statusText)") }
    return (code, try String(contentsOf: output, encoding: .utf8))
}

/// Wall-clock seconds since the epoch, for comparing with the agent's gauges.
func unixNow() -> Double { Date().timeIntervalSince1970 }
