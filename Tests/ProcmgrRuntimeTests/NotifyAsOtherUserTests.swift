import Glibc
import Logging
@testable import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

@Suite("NOTIFY_SOCKET for a child running as another user", .timeLimit(.minutes(2)))
struct NotifyAsOtherUserTests {
    @Test("systemd-notify as nobody reaches the agent's socket (abstract name: no file permissions to grant) and is accepted")
    func readyFromNobody() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let accepted = LockedState(0)
        let socket = try NotifySocket(reactor: TestRuntime.shared.reactor, process: "as-nobody", settings: NotifySettings(), logger: logger) { result in
            if result == .accepted { accepted.withLock { $0 += 1 } }
        }
        defer { socket.close() }
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        let environment = nobody.loginEnvironment(over: baseEnvironment.merging(socket.environment) { $1 })
        let process = try await TestRuntime.shared.spawner.spawn(SpawnSpec(
            arguments: ["sh", "-c", "systemd-notify --ready --status=\"as $(id -un)\" && exec sleep 1000"],
            environment: environment, captureOutput: false, identity: nobody))
        try socket.childStarted(pid: process.pid, pgid: process.pgid) { _ in }
        try await eventually("READY=1 from nobody") { socket.ready && socket.status == "as nobody" }
        #expect(accepted.withLock { $0 } >= 1)
        _ = await TestRuntime.shared.stopper.stop(process.handle, signal: SIGKILL, grace: .zero)
    }
}
