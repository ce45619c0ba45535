import Glibc
@testable import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// Stops with the process's cgroup: nothing that left the process group survives. Root only
/// (the machines the suite runs on); serialized, as the stops are timed.
@Suite("Cgroup stop", .serialized, .enabled(if: geteuid() == 0))
struct CgroupStopTests {
    static let grace = Duration.milliseconds(300)

    /// `sh` whose grandchild calls setsid() (setsid(1) execs: the shell's background job is
    /// not a group leader) and ignores SIGTERM.
    static let setsidGrandchild = [
        "sh", "-c",
        #"read x < "$GATE"; setsid python3 -c 'import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print("READY", flush=True); time.sleep(600)' & echo "GRANDCHILD $!"; wait"#,
    ]

    /// A program that double-forks a daemon (new session, TERM ignored) and waits.
    static let doubleForkDaemon = [
        "python3", "-c",
        """
        import os, signal, time
        open(os.environ["GATE"]).read()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                print("DAEMON", os.getpid(), flush=True)
                time.sleep(600)
            os._exit(0)
        os.wait()
        time.sleep(600)
        """,
    ]

    /// Forks 200 children, then ignores SIGTERM (the children too), and one more that calls
    /// setsid(): 202 members. "SETSID pid" and "FORKED" tell when all are there.
    static let twoHundredChildren = [
        "python3", "-c",
        """
        import os, signal, time
        open(os.environ["GATE"]).read()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for _ in range(200):
            if os.fork() == 0:
                time.sleep(600)
                os._exit(0)
        if os.fork() == 0:
            os.setsid()
            print("SETSID", os.getpid(), flush=True)
            time.sleep(600)
        print("FORKED", flush=True)
        time.sleep(600)
        """,
    ]

    /// Waits until every member of ``twoHundredChildren`` is there; returns the setsid() one.
    static func waitForTwoHundredChildren(_ child: CapturedChild) async throws -> Int32 {
        try await child.output.waitFor(line: "FORKED", timeout: .seconds(30))
        let line = try await child.output.waitFor("SETSID line") { $0.text.hasPrefix("SETSID ") }
        return try #require(Int32(line.text.dropFirst(7)))
    }

    @Test("a setsid() grandchild that ignores SIGTERM: gone with the cgroup, survives without it")
    func setsidGrandchild() async throws {
        try await withTestCgroupTree("stop-setsid") { tree in
            let runtime = TestRuntime.shared
            // Control first: without the cgroup the stop ends at the group and the grandchild lives.
            let control = try tree.makeProcessCgroup(name: "control", limits: CgroupLimits())
            let first = try await spawnInCgroup(control, Self.setsidGrandchild)
            try await first.output.waitFor(line: "READY")
            let survivor = try #require(pids(after: "GRANDCHILD", in: first.output.texts).first)
            let uncontained = await runtime.stopper.stop(first.handle, grace: Self.grace)
            #expect(uncontained.groupEmpty)
            #expect(isAlive(survivor), "the control must show the survivor, else the cgroup test proves nothing")
            #expect(control.members() == [survivor])
            control.killAll()
            try await eventually("the control's grandchild is killed") { control.isEmpty && !isAlive(survivor) }
            #expect(control.remove())

            let cgroup = try tree.makeProcessCgroup(name: "setsid", limits: CgroupLimits())
            let child = try await spawnInCgroup(cgroup, Self.setsidGrandchild)
            try await child.output.waitFor(line: "READY")
            let grandchild = try #require(pids(after: "GRANDCHILD", in: child.output.texts).first)
            #expect(ProcStat.read(pid: grandchild)?.processGroup != child.pgid)
            let result = await runtime.stopper.stop(child.handle, grace: Self.grace, cgroup: cgroup)
            print("[measure] stop with cgroup, setsid grandchild ignoring TERM, grace 300 ms: members gone after \(result.elapsed.milliseconds) ms")
            #expect(result.outcome == .killedAfterGrace)
            #expect(result.groupEmpty)
            #expect(cgroup.members().isEmpty && cgroup.isEmpty)
            #expect(!isAlive(grandchild))
            #expect(result.elapsed < Self.grace + .seconds(2), "members gone after \(result.elapsed)")
            #expect(cgroup.remove())
        }
    }

    @Test("a double-forked daemon is stopped with the cgroup")
    func doubleForkedDaemon() async throws {
        try await withTestCgroupTree("stop-daemon") { tree in
            let cgroup = try tree.makeProcessCgroup(name: "daemon", limits: CgroupLimits())
            let child = try await spawnInCgroup(cgroup, Self.doubleForkDaemon)
            let line = try await child.output.waitFor("DAEMON line") { $0.text.hasPrefix("DAEMON ") }
            let daemon = try #require(Int32(line.text.dropFirst(7)))
            #expect(ProcStat.read(pid: daemon).map { $0.processGroup != child.pgid && $0.parentPID != child.pid } == true)
            let result = await TestRuntime.shared.stopper.stop(child.handle, grace: Self.grace, cgroup: cgroup)
            print("[measure] stop with cgroup, double-forked daemon ignoring TERM, grace 300 ms: members gone after \(result.elapsed.milliseconds) ms")
            #expect(result.groupEmpty)
            #expect(cgroup.isEmpty)
            #expect(!isAlive(daemon))
            #expect(cgroup.remove())
        }
    }

    @Test("200 children ignoring SIGTERM (and a setsid() one) are killed at the deadline; killAll of 202 members is timed")
    func twoHundredChildren() async throws {
        try await withTestCgroupTree("stop-200") { tree in
            let cgroup = try tree.makeProcessCgroup(name: "forker", limits: CgroupLimits())
            let child = try await spawnInCgroup(cgroup, Self.twoHundredChildren)
            let detached = try await Self.waitForTwoHundredChildren(child)
            #expect(cgroup.members().count == 202)
            let result = await TestRuntime.shared.stopper.stop(child.handle, grace: Self.grace, cgroup: cgroup)
            print("[measure] stop with cgroup, 202 members ignoring TERM, grace 300 ms: members gone after \(result.elapsed.milliseconds) ms")
            #expect(result.outcome == .killedAfterGrace)
            #expect(result.groupEmpty)
            #expect(cgroup.members().isEmpty)
            #expect(!isAlive(detached))
            #expect(result.elapsed < Self.grace + .seconds(3), "members gone after \(result.elapsed)")

            // killAll alone, timed: from the write of cgroup.kill until the kernel reports empty.
            let again = try await spawnInCgroup(cgroup, Self.twoHundredChildren)
            _ = try await Self.waitForTwoHundredChildren(again)
            let clock = ContinuousClock()
            let start = clock.now
            cgroup.killAll()
            #expect(cgroup.waitUntilEmpty(timeout: .seconds(10)))
            print("[measure] killAll of 202 members: cgroup empty after \(start.duration(to: clock.now).microseconds) µs")
            #expect(await again.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
            try await eventually("the leader's group is reaped") { ProcFS.members(ofGroup: again.pgid).isEmpty }
            #expect(cgroup.remove())
        }
    }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
