import Glibc
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// ``ProcessTreeResources`` on real children: a program's group read from its known pids.
@Suite("Process tree resources: a group from its leader's descendants", .timeLimit(.minutes(2)))
struct ProcessTreeResourcesTests {
    /// The live source, remembering every pid it was asked about.
    final class RecordingSource: Sendable {
        let asked = LockedState<[Int32]>([])
        var source: ProcTreeSource {
            let asked = self.asked
            return ProcTreeSource(
                stat: { pid in
                    asked.withLock { $0.append(pid) }
                    return ProcTreeSource.live.stat(pid)
                },
                threads: { pid in
                    asked.withLock { $0.append(pid) }
                    return ProcTreeSource.live.threads(pid)
                },
                children: { pid, thread in
                    asked.withLock { $0.append(pid) }
                    return ProcTreeSource.live.children(pid, thread)
                })
        }
    }

    @Test("a busy child in the leader's group counts; a setsid'd descendant does not; only known pids are read")
    func busyChildAndSetsid() async throws {
        // The subshell burns CPU, then becomes `sleep`; `setsid sleep` leaves the group (and the
        // session): without a cgroup it is not the program's any more.
        let script = """
            ( i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo burned; exec sleep 600 ) &
            setsid sleep 600 &
            echo "setsid=$!"
            wait
            """
        let child = try await spawnCaptured(["sh", "-c", script])
        defer { Task { _ = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5)) } }
        try await child.output.waitFor(line: "burned", timeout: .seconds(60))
        let line = try await child.output.waitFor("the setsid pid") { $0.text.hasPrefix("setsid=") }
        let outsider = try #require(Int32(line.text.dropFirst("setsid=".count)))
        defer { kill(outsider, SIGKILL) }  // out of the group: the group stop misses it
        try await eventually("the setsid'd sleep has its own session") {
            ProcStat.read(pid: outsider).map { $0.session == outsider && $0.command == "sleep" } ?? false
        }
        #expect(ProcStat.read(pid: outsider)?.parentPID == child.pid, "a descendant of the leader")

        let recording = RecordingSource()
        let usage = ProcessTreeResources.sample(pgid: child.pgid, roots: [child.pid], source: recording.source)
        print("[measure] tree usage: \(usage.processCount) processes, \(usage.totalCPUSeconds) s CPU, \(usage.rssBytes >> 10) KiB RSS")
        #expect(usage.processCount == 2, "the shell and its busy child, not the setsid'd sleep")
        #expect(usage.cpuSeconds > 0, "the subshell's loop")
        #expect(usage.rssBytes > 0)

        // Only the leader and its direct children were read; the outsider's stat (to see it left
        // the group), never its children, and nothing else on the machine.
        let leaderChildren = Set(ProcTreeSource.live.children(child.pid, child.pid))
        let asked = Set(recording.asked.withLock { $0 })
        #expect(asked.isSubset(of: leaderChildren.union([child.pid])), "read \(asked), the tree is \(leaderChildren) under \(child.pid)")
        #expect(recording.asked.withLock { $0 }.filter { $0 == outsider }.count == 1, "the outsider: one stat, no children list")
    }

    @Test("CPU of a helper the leader waited for stays in the total")
    func reapedHelper() async throws {
        let script = "( i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done ); echo reaped; exec sleep 600"
        let child = try await spawnCaptured(["sh", "-c", script])
        defer { Task { _ = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5)) } }
        try await child.output.waitFor(line: "reaped", timeout: .seconds(60))
        try await eventually("the leader became sleep") { ProcStat.read(pid: child.pid)?.command == "sleep" }
        let usage = ProcessTreeResources.sample(pgid: child.pgid, roots: [child.pid])
        #expect(usage.processCount == 1)
        #expect(usage.reapedChildrenCPUSeconds > 0, "the subshell's loop, in the leader's cutime: \(usage)")
        #expect(usage.totalCPUSeconds >= usage.reapedChildrenCPUSeconds)
    }

    @Test("a member orphaned by its parent's exit is found among the agent's children (subreaper)")
    func orphanedMember() async throws {
        // The inner shell starts a sleep in the background and exits: the sleep, still in the
        // group, is re-parented to this process (a subreaper), not to the leader.
        let script = #"sh -c 'sleep 600 & echo "orphan=$!"'; echo ready; exec sleep 600"#
        let child = try await spawnCaptured(["sh", "-c", script])
        defer { Task { _ = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5)) } }
        try await child.output.waitFor(line: "ready", timeout: .seconds(30))
        let line = try await child.output.waitFor("the orphan's pid") { $0.text.hasPrefix("orphan=") }
        let orphan = try #require(Int32(line.text.dropFirst("orphan=".count)))
        try await eventually("the orphan is re-parented to the test process") { ProcStat.read(pid: orphan)?.parentPID == getpid() }

        #expect(ProcessTreeResources.sample(pgid: child.pgid, roots: [child.pid]).processCount == 1, "not a descendant of the leader")
        let orphans = ProcessTreeResources.orphans(excluding: [child.pid])
        #expect(orphans[child.pgid] == [orphan])
        let usage = ProcessTreeResources.sample(pgid: child.pgid, roots: [child.pid] + (orphans[child.pgid] ?? []))
        #expect(usage.processCount == 2)
    }
}
