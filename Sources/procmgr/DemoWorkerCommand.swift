import ArgumentParser
import Foundation
import Glibc
import Hummingbird
import Logging
import ProcmgrRuntime

/// `procmgr demo-worker`: the managed service of the embedded demo. It serves `GET /api/status`
/// on `$PORT` (the demo's health probe), answers heartbeats on `PROCMGR_HEARTBEAT_FD`, and can be
/// told to misbehave: `POST /crash` exits with status 1, `POST /hang` stops the whole process
/// (SIGSTOP: no more health answers nor heartbeats, only SIGKILL ends it), and
/// `--crash-after 20s-45s` crashes on its own at a random moment in that range.
struct DemoWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-worker",
        abstract: "A small managed service for the demo: status endpoint, heartbeats, crashes on request.")

    @Option(name: .long, help: "Crash (exit 1) after a random time in MIN-MAX (e.g. 20s-45s).")
    var crashAfter: String?

    func validate() throws {
        if let crashAfter, CrashWindow(parsing: crashAfter) == nil {
            throw ValidationError("--crash-after \"\(crashAfter)\" is not MIN-MAX in seconds (e.g. 20s-45s)")
        }
    }

    func run() async throws {
        let name = ProcessInfo.processInfo.environment["DEMO_NAME"] ?? "demo-worker"
        HeartbeatResponder.start()
        say("\(name): started, pid \(getpid())")
        // Whichever ends first ends the worker: the server (it shuts down gracefully on SIGTERM)
        // or the simulated crash.
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let window = crashAfter.flatMap(CrashWindow.init(parsing:)) {
                group.addTask {
                    let delay = Double.random(in: window.range)
                    try await Task.sleep(for: .seconds(delay))
                    say("\(name): simulated crash after \(Int(delay)) s")
                    Glibc.exit(1)
                }
            }
            if let port = ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) {
                let app = Self.application(name: name, port: port)
                group.addTask { try await app.runService() }
            } else {
                group.addTask { try await Task.sleep(for: .seconds(Int64.max / 2)) }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private static func application(name: String, port: Int) -> some ApplicationProtocol {
        let started = Date()
        let router = Router()
        router.get("/api/status") { _, _ -> Response in
            let body = #"{"name":"\#(name)","pid":\#(getpid()),"uptime_seconds":\#(Int(Date().timeIntervalSince(started)))}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.post("/crash") { _, _ -> HTTPResponse.Status in
            Self.afterResponse { say("\(name): crashing on request"); Glibc.exit(1) }
            return .accepted
        }
        router.post("/hang") { _, _ -> HTTPResponse.Status in
            Self.afterResponse { say("\(name): hanging on request"); kill(getpid(), SIGSTOP) }
            return .accepted
        }
        var logger = Logger(label: name)
        logger.logLevel = .warning
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    }

    /// Lets the 202 reach the client before the worker misbehaves.
    private static func afterResponse(_ action: @escaping @Sendable () -> Void) {
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            action()
        }
    }
}

/// `MIN-MAX` seconds, e.g. `20s-45s` or `20-45`.
struct CrashWindow {
    var range: ClosedRange<Double>

    init?(parsing text: String) {
        let parts = text.split(separator: "-").map { $0.hasSuffix("s") ? $0.dropLast() : $0 }
        guard parts.count == 2, let low = Double(parts[0]), let high = Double(parts[1]), low >= 0, low <= high else { return nil }
        range = low...high
    }
}

/// Writes one line to standard output at once (unbuffered: the agent captures it line by line,
/// and a crash right after must not lose it).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}
