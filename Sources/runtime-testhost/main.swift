// A small agent stand-in that the ProcmgrRuntime tests start as a child process, so they can
// SIGKILL "the agent" and check what survives, or restart it and check adoption.
//
// Modes (stdout lines are the protocol with the test; every line is flushed):
//   guardian-host N [no-guardian] subreaper + guardian; N children `sh -c 'sleep 600 & …'`;
//                                prints "CHILD <pid> <grandchild pid>" ×N, "READY", then waits.
//                                `no-guardian` is the control: only PDEATHSIG protects.
//                                A guardian that dies is re-spawned: "RESPAWNED <pid> <groups>"
//                                (or "RESPAWN-FAILED <error>").
//   state-host FILE N wait|exit  no guardian, children outlive us (killWithParent off); records
//                                them in the state file FILE; prints CHILD lines and READY, then
//                                waits (to be SIGKILLed) or exits 0 (to be restarted).
//   adopt-host FILE              adopts the children listed in FILE, prints "ADOPTED <pid> <pgid>"
//                                and "STALE <n>", stops each group, prints
//                                "STOPPED <pid> <outcome> <ms>", then "DONE".
//   adopt-runtime DIR N wait|stop [changed]
//                                a whole engine + ProcessRuntime in `orphans: adopt` mode (state
//                                file DIR/children.json), managing N processes svc-0…svc-N-1 that
//                                print "tick K" every 100 ms; adopts what an earlier host left and
//                                sweeps the rest; prints "SWEPT <id> <pid>", then
//                                "CHILD <id> <pid> <port>" ×N and "READY", then once per process the
//                                first line it captured: "OUTPUT <id> <line>". `wait`: waits (to be
//                                SIGKILLed); `stop`: shuts the engine down, prints "STOPPED", exits.
//                                `changed`: the processes' command differs (they print "tock K").
//   heartbeat-child              answers heartbeats (HeartbeatResponder), prints "ready", waits.
//   capture-flood MB             captures a child writing MB MiB with no newline then MB MiB of
//                                100-byte lines; prints "FLOOD <lines> <bytes> <growth KiB>"
//                                where growth is this process's peak RSS minus its RSS before —
//                                measured here because a test process's RSS is every test's.
//   release-code                 pages out its own code (ExecutablePages.release) and prints
//                                "PAGES <resident KiB before> <after> <bytes advised>": alone in
//                                its process, so no other test faults code back in between.
import ProcmgrSupport
import Glibc
import Logging
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrRuntime

/// Writes one whole line to a descriptor, unbuffered (the test reads it as it comes).
func writeLine(_ line: String, to fd: Int32) {
    let bytes = Array((line + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        written += n
    }
}

func emit(_ line: String) { writeLine(line, to: 1) }

/// A `/proc/self/status` field in KiB (VmRSS, VmHWM).
func statusKiB(_ key: String) -> Int {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 8192)
    let count = read(fd, &buffer, buffer.count)
    let text = String(decoding: buffer[0..<max(0, count)], as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
}

func fail(_ message: String) -> Never {
    writeLine("runtime-testhost: \(message)", to: 2)
    exit(2)
}

func waitForever() async -> Never {
    while true { try? await Task.sleep(for: .seconds(3600)) }
}

let childEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
let childScript = "sleep 600 & echo \"CHILD $$ $!\"; sleep 600"

/// Spawns `count` children, forwards their "CHILD" lines, returns their handles.
func spawnFamilies(count: Int, spawner: SpawnThread, capture: OutputCapture, killWithParent: Bool) async -> [ProcessHandle] {
    let seen = LockedState<Int>(0)
    let allSeen = OneShot<Void>()
    var handles: [ProcessHandle] = []
    for _ in 0..<count {
        let child: SpawnedProcess
        do {
            child = try await spawner.spawn(SpawnSpec(arguments: ["/bin/sh", "-c", childScript], environment: childEnvironment, killWithParent: killWithParent))
        } catch {
            fail("spawn: \(error)")
        }
        handles.append(child.handle)
        do {
            _ = try capture.attach(name: "child-\(child.pid)", stdout: child.stdoutFD, stderr: child.stderrFD) { line in
                guard line.text.hasPrefix("CHILD ") else { return }
                emit(line.text)
                let total = seen.withLock { value -> Int in
                    value += 1
                    return value
                }
                if total == count { allSeen.fulfill(()) }
            }
        } catch {
            fail("capture: \(error)")
        }
    }
    guard await allSeen.wait(timeout: .seconds(30)) != nil else { fail("children did not report in time") }
    return handles
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: runtime-testhost MODE …") }

switch arguments[1] {
case "guardian-host":
    let count = arguments.count > 2 ? Int(arguments[2]) ?? 50 : 50
    do {
        try Subreaper.enable()
        let reactor = try EpollThread(name: "procmgr-reactor")
        let watcher = try ExitWatcher(reactor: reactor)
        let withGuardian = !(arguments.count > 3 && arguments[3] == "no-guardian")
        let guardian = withGuardian ? try Guardian.start(watcher: watcher) : nil
        let spawner = try SpawnThread(watcher: watcher, guardian: guardian)
        let capture = OutputCapture(reactor: reactor)
        if let guardian {
            emit("GUARDIAN \(guardian.pid)")
            guardian.observe { event in
                switch event {
                case .died: break
                case .respawned(let pid, let groups): emit("RESPAWNED \(pid) \(groups)")
                case .respawnFailed(let error): emit("RESPAWN-FAILED \(error)")
                }
            }
        }
        _ = await spawnFamilies(count: count, spawner: spawner, capture: capture, killWithParent: true)
        emit("READY")
        await waitForever()
    } catch {
        fail("\(error)")
    }

case "state-host":
    guard arguments.count >= 5, let count = Int(arguments[3]) else { fail("usage: state-host FILE N wait|exit") }
    do {
        let reactor = try EpollThread(name: "procmgr-reactor")
        let watcher = try ExitWatcher(reactor: reactor)
        let spawner = try SpawnThread(watcher: watcher)
        let capture = OutputCapture(reactor: reactor)
        let stateFile = ChildStateFile(path: arguments[2], durable: false)
        let handles = await spawnFamilies(count: count, spawner: spawner, capture: capture, killWithParent: false)
        for (index, handle) in handles.enumerated() {
            try stateFile.upsert(ChildRecord(name: "svc-\(index)", process: handle))
        }
        emit("READY")
        if arguments[4] == "exit" { exit(0) }
        await waitForever()
    } catch {
        fail("\(error)")
    }

case "adopt-host":
    guard arguments.count >= 3 else { fail("usage: adopt-host FILE") }
    do {
        let reactor = try EpollThread(name: "procmgr-reactor")
        let watcher = try ExitWatcher(reactor: reactor)
        let stopper = GroupStopper(reactor: reactor)
        let (adopted, stale) = try OrphanSweeper.adopt(stateFile: arguments[2])
        var handles: [ProcessHandle] = []
        for process in adopted {
            emit("ADOPTED \(process.record.pid) \(process.record.pgid)")
            handles.append(process.handle(watcher: watcher))
        }
        emit("STALE \(stale.count)")
        for handle in handles {
            let result = await stopper.stop(handle, grace: .seconds(2))
            emit("STOPPED \(handle.pid) \(result.outcome.rawValue) \(result.elapsed.components.seconds * 1000 + result.elapsed.components.attoseconds / 1_000_000_000_000_000)")
        }
        emit("DONE")
        exit(0)
    } catch {
        fail("\(error)")
    }

case "adopt-runtime":
    guard arguments.count >= 5, let count = Int(arguments[3]) else { fail("usage: adopt-runtime DIR N wait|stop [changed]") }
    let word = arguments.count > 5 && arguments[5] == "changed" ? "tock" : "tick"
    do {
        var logger = Logger(label: "testhost")
        logger.logLevel = .critical
        let services = try RuntimeServices.start(portRange: 39_500...39_599, stateFilePath: arguments[2] + "/children.json", killOrphans: false, logger: logger)
        let registry = MetricsRegistry()
        let runtime = try ProcessRuntime(services: services, registry: registry, logger: logger)
        let manager = try ProcessManager(syncer: runtime, registry: registry, logger: logger)
        runtime.bind(to: manager)
        try runtime.loadAdoptable()
        let ids = (0..<count).map { "svc-\($0)" }
        let config = ManagedProcess(
            command: ["sh", "-c", "k=0; while :; do k=$((k+1)); echo \"\(word) $k\"; sleep 0.1; done"],
            environment: childEnvironment, port: .auto, terminationGracePeriod: .seconds(2))
        await withDiscardingTaskGroup { group in
            group.addTask { await manager.run() }
            group.addTask { await runtime.run() }
            for id in ids { manager.update(id, config: config, type: .create) }
            for record in await runtime.sweepUnclaimedAdoptable(keeping: ids) { emit("SWEPT \(record.name) \(record.pid)") }
            for id in ids {
                guard await manager.waitUntil(id, reaches: .running) == .running, let snapshot = runtime.snapshot(of: id), let pid = snapshot.pid else {
                    fail("\(id) is not running")
                }
                emit("CHILD \(id) \(pid) \(snapshot.port ?? 0)")
            }
            emit("READY")
            for id in ids {
                let deadline = ContinuousClock.now.advanced(by: .seconds(20))
                while runtime.recentOutput(of: id)?.isEmpty ?? true {
                    guard ContinuousClock.now < deadline else { fail("no output from \(id)") }
                    try? await Task.sleep(for: .milliseconds(10))
                }
                emit("OUTPUT \(id) \(runtime.recentOutput(of: id)![0].text)")
            }
            if arguments[4] == "wait" { await waitForever() }
            let report = await manager.shutdown(deadline: .seconds(20))
            guard report.stragglers.isEmpty else { fail("stragglers: \(report.stragglers)") }
            runtime.flushStateFile()  // as the agent does before it exits
            emit("STOPPED")
            exit(0)
        }
    } catch {
        fail("\(error)")
    }

case "heartbeat-child":
    guard HeartbeatResponder.start() else { fail("PROCMGR_HEARTBEAT_FD is not set") }
    emit("ready")
    await waitForever()

case "capture-flood":
    guard arguments.count == 3, let megabytes = Int(arguments[2]) else { fail("usage: capture-flood MB") }
    do {
        let reactor = try EpollThread(name: "procmgr-reactor")
        let watcher = try ExitWatcher(reactor: reactor, configuration: .init(reapUntrackedChildren: false))
        let spawner = try SpawnThread(watcher: watcher)
        let capture = OutputCapture(reactor: reactor)
        let bytes = megabytes * 1_048_576
        let before = statusKiB("VmRSS")
        let process = try await spawner.spawn(SpawnSpec(
            arguments: ["sh", "-c", "head -c \(bytes) /dev/zero | tr '\\0' x; echo; yes \(String(repeating: "a", count: 99)) | head -c \(bytes)"],
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"]))
        let lines = LockedState(0)
        let handle = try capture.attach(name: "flood", stdout: process.stdoutFD, stderr: process.stderrFD) { _ in
            lines.withLock { $0 += 1 }
        }
        _ = await process.exit.wait()
        await handle.waitUntilFinished()
        emit("FLOOD \(lines.withLock { $0 }) \(handle.stats.bytes) \(statusKiB("VmHWM") - before)")
        exit(0)
    } catch {
        fail("\(error)")
    }

case "release-code":
    guard let before = ExecutablePages.residentKiB() else { fail("cannot read /proc/self/smaps") }
    let advised = ExecutablePages.release()
    let after = ExecutablePages.residentKiB() ?? -1
    emit("PAGES \(before) \(after) \(advised) errno=\(advised < 0 ? errno : 0)")
    exit(0)

default:
    fail("unknown mode \(arguments[1])")
}
