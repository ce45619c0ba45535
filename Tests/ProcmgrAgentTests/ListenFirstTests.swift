import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// A socket listening on 127.0.0.1 on a kernel-chosen port, held for the test.
final class OccupiedPort {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw AgentTestFailure("cannot occupy a port: errno \(errno)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// `procmgr run` binds its API before it starts anything, raises its open-file limit, and honours
/// a rotated token file: the real binary against real sockets.
@Suite(.timeLimit(.minutes(2)))
struct ListenFirstTests {
    /// Starts `procmgr ARGS` (through `sh` when `softFileLimit` is set, which lowers the soft
    /// open-file limit and execs it, keeping the pid) with its output captured.
    static func spawn(_ arguments: [String], softFileLimit: Int? = nil) async throws -> (SpawnedProcess, LockedLines) {
        let runtime = AgentTestRuntime.shared
        var argv = [try procmgrPath()] + arguments
        if let softFileLimit {
            argv = ["sh", "-c", "ulimit -Sn \(softFileLimit) && exec \"$0\" \"$@\""] + argv
        }
        let process = try await runtime.spawner.spawn(SpawnSpec(
            arguments: argv, environment: ProcessInfo.processInfo.environment, captureOutput: true, killWithParent: true))
        let lines = LockedLines()
        _ = try runtime.capture.attach(name: "procmgr", stdout: process.stdoutFD, stderr: process.stderrFD) { lines.append($0.text) }
        return (process, lines)
    }

    @Test("an address in use: an error naming it, exit 1, and no process started")
    func addressInUse() async throws {
        let occupied = try OccupiedPort()
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "/started"
        let file = directory + "/procmgr.yaml"
        try """
        agent:
          state_dir: \(directory)/state
          listen: 127.0.0.1:\(occupied.port)
        processes:
          - id: marker
            command: ["touch", "\(marker)"]
            restart: never
        """.write(toFile: file, atomically: true, encoding: .utf8)

        let (process, lines) = try await Self.spawn(["run", "--config", file])
        guard let status = await process.exit.wait(timeout: .seconds(30)) else {
            Glibc.kill(process.pid, SIGKILL)
            throw AgentTestFailure("procmgr did not exit; output: \(lines.all.suffix(20))")
        }
        #expect(status == .exited(code: 1), "output: \(lines.all.suffix(20))")
        try await eventually("the error line") {
            lines.all.contains("procmgr: listen 127.0.0.1:\(occupied.port): address already in use")
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "a process was started before the listener was bound")
        #expect(!lines.all.contains { $0.contains("procmgr agent listening") })
        withExtendedLifetime(occupied) {}
    }

    @Test("the soft open-file limit is raised to the hard limit (with CAP_SYS_RESOURCE, both to fs.nr_open), logged once")
    func fileLimitRaised() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let hard = Int(clamping: limit.rlim_max)
        try #require(hard > 512, "the hard limit here is too low to show a raise")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try "agent:\n  state_dir: \(directory)/state\nprocesses: []\n".write(toFile: file, atomically: true, encoding: .utf8)

        let (process, lines) = try await Self.spawn(["run", "--config", file, "--listen", "127.0.0.1:0"], softFileLimit: 512)
        defer { Glibc.kill(process.pid, SIGKILL) }
        try await eventually("listening", timeout: .seconds(60)) { lines.all.contains { $0.hasPrefix("procmgr agent listening on ") } }
        // The log (stderr) and the listening line (stdout) are two pipes, read independently:
        // the log line may arrive after the listening line although it was written first.
        try await eventually("the raise is logged") { lines.all.contains { $0.contains("raised the open-file limit") } }
        let raised = lines.all.filter { $0.contains("raised the open-file limit") }
        #expect(raised.count == 1)
        // An agent that may raise its hard limit (CAP_SYS_RESOURCE: bit 24 of CapEff) goes to fs.nr_open.
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let capabilities = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }.flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        let nrOpen = Int((try String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? hard
        let expected = capabilities & (1 << 24) != 0 ? max(hard, nrOpen) : hard
        #expect(raised.first?.contains("from=512") == true && raised.first?.contains("to=\(expected)") == true, "\(raised)")
        let limits = try String(contentsOfFile: "/proc/\(process.pid)/limits", encoding: .utf8)
        let openFiles = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        #expect(openFiles.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2).map(String.init) == [String(expected), String(expected)])
    }

    @Test("a rotated token file: the new token works and the old one stops working")
    func rotatedToken() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokenFile = directory + "/token"
        try "first\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let file = directory + "/procmgr.yaml"
        try "agent:\n  state_dir: \(directory)/state\n  token_file: \(tokenFile)\nprocesses: []\n".write(toFile: file, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess.start(["--config", file])
        defer { Task { await agent.kill() } }

        func reload(_ token: String) async throws -> Int {
            try await agent.request("/-/reload", method: .POST, headers: [("Authorization", "Bearer \(token)")]).status
        }
        #expect(try await reload("first") == 200)
        #expect(try await reload("second") == 401)

        // Rotated by rename, as secret managers do: seen by the file watch.
        try "second\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await eventually("the rotated token accepted; output: \(agent.output.suffix(20))", timeout: .seconds(15)) {
            try await reload("second") == 200
        }
        #expect(try await reload("first") == 401)

        // Rewritten in place and announced with SIGHUP.
        let handle = try #require(FileHandle(forWritingAtPath: tokenFile))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("third\n".utf8))
        try handle.close()
        agent.signal(SIGHUP)
        try await eventually("the token re-read after SIGHUP; output: \(agent.output.suffix(20))", timeout: .seconds(15)) {
            try await reload("third") == 200
        }
        #expect(try await reload("second") == 401)
    }
}
