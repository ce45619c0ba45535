import Glibc
import ProcmgrEngine
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// `managed(...)` with sd_notify on.
private func notifying(_ command: [String], port: PortRequest = .none, settings: NotifySettings = NotifySettings()) -> ManagedProcess {
    var config = managed(command, port: port, grace: .milliseconds(500))
    config.notify = settings
    return config
}

/// A variable of a running process's environment, from /proc (what it really got).
private func environmentVariable(_ name: String, of pid: Int32) -> String? {
    readFile("/proc/\(pid)/environ").split(separator: "\u{0}").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
private func accepts(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

@Suite("sd_notify through the runtime (real clients)", .timeLimit(.minutes(3)))
struct NotifyRuntimeTests {
    @Test("systemd-notify --ready --status from the program's shell: ready and status in the snapshot, counted accepted")
    func systemdNotifyReady() async throws {
        try await RuntimeHarness.with { h in
            h.manager.update("svc", config: notifying(["sh", "-c", "systemd-notify --ready --status=\"warming up\"; exec sleep 1000"]), type: .create)
            try await h.waitFor("svc", .running)
            try await eventually("ready with its status") {
                let snapshot = h.runtime.snapshot(of: "svc")
                return snapshot?.notifyReady == true && snapshot?.notifyStatus == "warming up"
            }
            let pid = try #require(h.runtime.snapshot(of: "svc")?.pid)
            // The shell execs `sleep` right after systemd-notify returns: while the exec swaps the
            // memory, /proc/PID/environ reads empty, so read until the new image's is there.
            try await eventually("the program's environment readable") { environmentVariable("NOTIFY_SOCKET", of: pid) != nil }
            let address = try #require(environmentVariable("NOTIFY_SOCKET", of: pid))
            #expect(address.hasPrefix("@procmgr/\(getpid())/") && address.hasSuffix("/svc"))
            #expect(environmentVariable("WATCHDOG_USEC", of: pid) == nil, "no watchdog configured")
            #expect((h.sample("procmgr_notify_messages_total{process=\"svc\",result=\"accepted\"}") ?? 0) >= 1)
            #expect((h.sample("procmgr_notify_messages_total{process=\"svc\",result=\"foreign\"}") ?? 0) == 0)
        }
    }

    @Test("systemd-notify from outside the program's group is dropped and counted foreign")
    func foreignSender() async throws {
        try await RuntimeHarness.with { h in
            h.manager.update("svc", config: notifying(["sleep", "1000"]), type: .create)
            try await h.waitFor("svc", .running)
            let pid = try #require(h.runtime.snapshot(of: "svc")?.pid)
            var address: String?
            try await eventually("the child's environment readable") {
                address = environmentVariable("NOTIFY_SOCKET", of: pid)
                return address != nil
            }
            var environment = baseEnvironment
            environment["NOTIFY_SOCKET"] = address
            let (status, lines) = try await runToCompletion(["systemd-notify", "--ready", "--status=x"], environment: environment)
            #expect(status.isSuccess, "\(lines)")
            try await eventually("counted foreign") { (h.sample("procmgr_notify_messages_total{process=\"svc\",result=\"foreign\"}") ?? 0) >= 1 }
            let snapshot = try #require(h.runtime.snapshot(of: "svc"))
            #expect(snapshot.notifyReady == false && snapshot.notifyStatus == nil)
            h.manager.terminate("svc")
            try await h.waitFor("svc", .finished)
            #expect(h.sample("procmgr_notify_messages_total{process=\"svc\",result=\"foreign\"}") == nil, "series purged with the process")
        }
    }

    @Test("redis-server --supervised systemd: ready only once it accepts connections")
    func redis() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with(portRange: 39_400...39_419) { h in
            let command = [
                "redis-server", "--supervised", "systemd", "--port", "${PORT}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory,
            ]
            h.manager.update("redis", config: notifying(command, port: .auto), type: .create)
            try await h.waitFor("redis", .running)
            var observations: [(ready: Bool, accepts: Bool)] = []
            try await eventually(
                "redis reports READY=1; snapshot \(String(describing: h.runtime.snapshot(of: "redis"))), output \(h.output(of: "redis").suffix(10))",
                timeout: .seconds(20), every: .milliseconds(5)
            ) {
                guard let snapshot = h.runtime.snapshot(of: "redis"), let port = snapshot.port else { return false }
                let ready = snapshot.notifyReady == true
                // Read after ready: a true here must already accept.
                observations.append((ready, accepts(port: port)))
                return ready
            }
            for observation in observations where observation.ready {
                #expect(observation.accepts, "ready before redis accepted connections: \(observations)")
            }
            #expect(h.runtime.snapshot(of: "redis")?.notifyStatus != nil, "redis reports a STATUS= too")
        }
    }

    @Test("a watchdog fed twice and then starved restarts the program with reason watchdog, within the interval")
    func watchdogMiss() async throws {
        try await RuntimeHarness.with { h in
            // Long enough that the second WATCHDOG=1 is seen before it runs out, on a loaded machine.
            let interval = Duration.milliseconds(1_500)
            let script = "echo \"usec=$WATCHDOG_USEC pid=${WATCHDOG_PID:-none}\"; systemd-notify WATCHDOG=1 STATUS=fed-1; systemd-notify WATCHDOG=1 STATUS=fed-2; exec sleep 1000"
            h.manager.update("dog", config: notifying(["sh", "-c", script], settings: NotifySettings(watchdog: interval)), type: .create)
            let clock = ContinuousClock()
            var fedAt: ContinuousClock.Instant?
            var firstPID: Int32?
            try await eventually("the second WATCHDOG=1 seen", every: .milliseconds(2)) {
                guard let snapshot = h.runtime.snapshot(of: "dog"), snapshot.notifyStatus == "fed-2" else { return false }
                fedAt = clock.now
                firstPID = snapshot.pid
                return true
            }
            let restart = "procmgr_restarts_total{process=\"dog\",reason=\"watchdog\"}"
            #expect(h.sample(restart) == nil, "not while it was fed")
            try await eventually("restarted for the watchdog", every: .milliseconds(2)) { h.sample(restart) != nil }
            let after = clock.now - (fedAt ?? clock.now)
            // The restart is counted once the group was stopped, by an engine sync that shares two
            // cores with the whole parallel suite: the margin is for that, not for the timer.
            #expect(after <= interval + .seconds(2), "restart \(after) after the last WATCHDOG=1 (interval \(interval))")
            #expect(h.output(of: "dog").first == "usec=1500000 pid=none", "WATCHDOG_USEC exported, WATCHDOG_PID not")
            try await eventually("a new program") { h.runtime.snapshot(of: "dog")?.pid.map { $0 != firstPID } ?? false }
        }
    }

    @Test("WATCHDOG=trigger restarts at once, with reason watchdog, without a configured watchdog")
    func watchdogTrigger() async throws {
        try await RuntimeHarness.with { h in
            let config = notifying(["sh", "-c", "systemd-notify --ready; systemd-notify WATCHDOG=trigger; exec sleep 1000"])
            h.manager.update("dog", config: config, type: .create)
            try await eventually("restarted for the watchdog") { h.sample("procmgr_restarts_total{process=\"dog\",reason=\"watchdog\"}") != nil }
            #expect(h.sample("procmgr_restarts_total{process=\"dog\",reason=\"exit\"}") == nil)
        }
    }
}
