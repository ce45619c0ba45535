import Glibc
@testable import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// Limits, OOM detection, accounting and the guardian's cgroup kill, with real children. Root only.
@Suite("Cgroup limits", .serialized, .enabled(if: geteuid() == 0))
struct CgroupLimitTests {
    @Test("memory limit 32 MiB: a 200 MB allocation is OOM-killed, seen by watchOOM and oomKills")
    func oomKillIsDetected() async throws {
        try await withTestCgroupTree("oom") { tree in
            let runtime = TestRuntime.shared
            let cgroup = try tree.makeProcessCgroup(name: "hog", limits: CgroupLimits(memoryBytes: 32 << 20))
            #expect(cgroup.usage().memoryLimitBytes == 32 << 20)
            #expect(cgroup.oomKills() == 0)
            let fired = OneShot<Void>()
            let watch = try #require(cgroup.watchOOM(reactor: runtime.reactor) { _ = fired.fulfill(()) })
            let child = try await spawnInCgroup(cgroup, ["python3", "-c", #"import os; open(os.environ["GATE"]).read(); x = b"x" * (200 << 20); print("ALLOCATED", flush=True)"#])
            #expect(await fired.wait(timeout: .seconds(20)) != nil, "no OOM notification")
            #expect((cgroup.oomKills() ?? 0) >= 1)
            #expect(await child.process.exit.wait(timeout: .seconds(10)) == .signaled(signal: SIGKILL, coreDumped: false))
            #expect(!child.output.texts.contains("ALLOCATED"))
            watch.cancel()
            try await eventually("the cgroup is empty") { cgroup.isEmpty }
            #expect(cgroup.remove())
        }
    }

    @Test("watchOOM keeps one descriptor and cancel releases it; removal is not an OOM")
    func oomWatchDescriptors() async throws {
        try await withTestCgroupTree("oom-fds") { tree in
            let runtime = TestRuntime.shared
            let cgroup = try tree.makeProcessCgroup(name: "idle", limits: CgroupLimits(memoryBytes: 64 << 20))
            let fired = LockedState(0)
            let watch = try #require(cgroup.watchOOM(reactor: runtime.reactor) { fired.withLock { $0 += 1 } })
            let target = try #require(descriptorTarget(watch.fd))
            #expect(target == "anon_inode:[eventfd]" || target == "anon_inode:inotify")
            // v1 signals the eventfd when the cgroup goes away: that is no OOM kill. (The fd
            // number could be re-used by another suite's descriptor of the same kind in
            // between; never seen, and it would only make this wait time out.)
            #expect(cgroup.remove())
            watch.cancel()
            try await eventually("the watch's descriptor is closed") { descriptorTarget(watch.fd) != target }
            #expect(fired.withLock { $0 } == 0)
        }
    }

    @Test("pids limit 64: a fork loop hits EAGAIN, killAll empties the cgroup")
    func pidsLimitContainsForkBomb() async throws {
        try await withTestCgroupTree("pids") { tree in
            let cgroup = try tree.makeProcessCgroup(name: "bomb", limits: CgroupLimits(pids: 64))
            let child = try await spawnInCgroup(cgroup, ["python3", "-c", """
                import errno, os, time
                open(os.environ["GATE"]).read()
                ok = failed = 0
                codes = set()
                for _ in range(200):
                    try:
                        if os.fork() == 0:
                            time.sleep(600)
                            os._exit(0)
                        ok += 1
                    except OSError as e:
                        failed += 1
                        codes.add(errno.errorcode.get(e.errno, str(e.errno)))
                print("FORKS", ok, failed, ",".join(sorted(codes)), flush=True)
                time.sleep(600)
                """])
            let line = try await child.output.waitFor("FORKS line", timeout: .seconds(30)) { $0.text.hasPrefix("FORKS ") }
            let fields = line.text.split(separator: " ")
            #expect(fields.count == 4)
            let succeeded = try #require(Int(fields[1]))
            #expect(succeeded == 63, "64 tasks in all: the program and 63 children (\(line.text))")
            #expect(Int(fields[2]) == 200 - succeeded)
            #expect(fields.last == "EAGAIN")
            #expect(cgroup.members().count == 64)
            cgroup.killAll()
            #expect(cgroup.waitUntilEmpty(timeout: .seconds(10)))
            #expect(await child.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
            try await eventually("the group is reaped") { ProcFS.members(ofGroup: child.pgid).isEmpty }
            #expect(cgroup.remove())
        }
    }

    @Test("usage: CPU grows for a busy loop, resident memory and throttling under a 0.2-core quota")
    func usageIsPlausible() async throws {
        try await withTestCgroupTree("usage") { tree in
            let cgroup = try tree.makeProcessCgroup(name: "busy", limits: CgroupLimits(memoryBytes: 256 << 20, cpuCores: 0.2))
            let child = try await spawnInCgroup(cgroup, ["python3", "-c", """
                import os
                open(os.environ["GATE"]).read()
                x = b"x" * (20 << 20)
                print("ALLOCATED", flush=True)
                while True:
                    pass
                """])
            try await child.output.waitFor(line: "ALLOCATED")
            let first = cgroup.usage()
            #expect(first.memoryLimitBytes == 256 << 20)
            let resident = try #require(first.memoryBytes)
            #expect(resident >= 20 << 20 && resident < 256 << 20, "resident \(resident)")
            let startCPU = try #require(first.cpuSeconds)
            try await eventually("CPU time grows and the quota throttles", timeout: .seconds(20)) {
                let now = cgroup.usage()
                return (now.cpuSeconds ?? 0) > startCPU + 0.1 && (now.throttledSeconds ?? 0) > 0
            }
            let last = cgroup.usage()
            print("[measure] usage of a busy loop under 0.2 cores: \(last)")
            let result = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5), cgroup: cgroup)
            #expect(result.groupEmpty && cgroup.isEmpty)
            #expect(cgroup.remove())
        }
    }

    @Test("guardian: the agent's death kills a setsid() member of the kill cgroup, also after a respawn")
    func guardianKillsCgroup() async throws {
        try await withTestCgroupTree("guardian") { tree in
            let runtime = TestRuntime.shared
            let path = try #require(tree.guardianKillPath)
            let guardian = try Guardian.start(watcher: runtime.watcher)
            try guardian.setKillCgroup(path)
            let tooLong = "/" + String(repeating: "x", count: 5000)
            #expect(throws: Guardian.GuardianError.pathTooLong(tooLong)) { try guardian.setKillCgroup(tooLong) }
            let firstGuardian = guardian.pid
            // A dead guardian is replaced and must be given the path again.
            #expect(kill(firstGuardian, SIGKILL) == 0)
            try await eventually("the guardian is re-spawned") { guardian.respawnCount == 1 && guardian.isUp }
            let cgroup = try tree.makeProcessCgroup(name: "member", limits: CgroupLimits())
            let child = try await spawnInCgroup(cgroup, CgroupStopTests.setsidGrandchild)
            try await child.output.waitFor(line: "READY")
            let grandchild = try #require(pids(after: "GRANDCHILD", in: child.output.texts).first)
            // No process group registered: only the cgroup can reach the setsid() grandchild.
            guardian.abandon()  // exactly what the kernel does when the agent dies
            #expect(await guardian.exit?.wait(timeout: .seconds(5)) == .exited(code: 0))
            try await eventually("the setsid() grandchild is killed") { !isAlive(grandchild) }
            try await eventually("the cgroup is empty") { cgroup.isEmpty }
            #expect(await child.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
            #expect(cgroup.remove())
        }
    }

    @Test("sweepLeftovers kills and removes the cgroups not kept, and leaves the kept ones alone")
    func sweep() async throws {
        try await withTestCgroupTree("sweep") { tree in
            let kept = try tree.makeProcessCgroup(name: "kept.1", limits: CgroupLimits(pids: 10))
            let stale = try tree.makeProcessCgroup(name: "stale/1", limits: CgroupLimits(memoryBytes: 64 << 20))
            let keptChild = try await spawnInCgroup(kept, ["sh", "-c", #"read x < "$GATE"; exec sleep 600"#])
            let staleChild = try await spawnInCgroup(stale, ["sh", "-c", #"read x < "$GATE"; setsid sleep 600 & exec sleep 600"#])
            try await eventually("both stale processes are members") { stale.members().count == 2 }
            #expect(tree.sweepLeftovers(keeping: ["kept.1"]) == 2)
            #expect(await staleChild.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
            #expect(stale.directories.allSatisfy { !CgroupFiles.exists($0) })
            #expect(kept.members() == [keptChild.pid])
            let result = await TestRuntime.shared.stopper.stop(keptChild.handle, grace: .seconds(5), cgroup: kept)
            #expect(result.groupEmpty)
            #expect(kept.remove())
        }
    }

    @Test("mkdir + limits + rmdir cost per process cgroup", arguments: [false, true])
    func creationCost(withV1Memory: Bool) async throws {
        try await withTestCgroupTree("cost") { tree in
            let limits = withV1Memory ? CgroupLimits(memoryBytes: 64 << 20) : CgroupLimits()
            let count = 200
            let clock = ContinuousClock()
            let start = clock.now
            for index in 0..<count {
                let cgroup = try tree.makeProcessCgroup(name: "p\(index)", limits: limits)
                // A v1 memory cgroup only with a memory limit (none for accounting alone).
                #expect(cgroup.directories.count == 1 + (withV1Memory && tree.layout.v1[.memory] != nil ? 1 : 0))
                #expect(cgroup.remove())
            }
            let each = start.duration(to: clock.now) / count
            let what = withV1Memory ? "v2 + v1 memory (limit + memsw)" : "v2 only"
            print("[measure] process cgroup mkdir+limits+rmdir, \(what): \(each.microseconds) µs each (\(count) rounds)")
        }
    }
}

/// What descriptor `fd` of this process is (`/proc/self/fd` link), nil when closed.
func descriptorTarget(_ fd: Int32) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count)
    return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
}
