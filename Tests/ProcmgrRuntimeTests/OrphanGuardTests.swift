import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// A descendant recorded by a test host: pid plus start time (so a recycled pid is not
/// mistaken for a survivor).
struct Descendant: CustomStringConvertible {
    let pid: Int32
    let startTime: UInt64
    var description: String { "\(pid)@\(startTime)" }

    /// Still present in /proc (zombies included) with the same start time.
    var exists: Bool { ProcStat.read(pid: pid)?.startTime == startTime }
    var existsAndRuns: Bool { isAlive(pid, startTime: startTime) }
}

/// Parses "CHILD <pid> <grandchild>" lines into descendants.
func descendants(from lines: [String]) throws -> [Descendant] {
    var result: [Descendant] = []
    for line in lines where line.hasPrefix("CHILD ") {
        for field in line.split(separator: " ").dropFirst() {
            let pid = try #require(Int32(field))
            let stat = try #require(ProcStat.read(pid: pid), "descendant \(pid) vanished before the test looked at it")
            result.append(Descendant(pid: pid, startTime: stat.startTime))
        }
    }
    return result
}

@Suite("Orphan guard", .serialized)
struct OrphanGuardTests {
    @Test("SIGKILL of the agent: zero of its 100 descendants survive", arguments: 0..<3)
    func sigkillOfAgentLeavesNoDescendant(round: Int) async throws {
        let host = try await spawnCaptured([try testHostPath(), "guardian-host", "50"])
        try await host.output.waitFor(line: "READY", timeout: .seconds(60))
        let family = try descendants(from: host.output.texts)
        #expect(family.count == 100)
        let guardianLine = try #require(host.output.texts.first { $0.hasPrefix("GUARDIAN ") })
        let guardianPID = try #require(Int32(guardianLine.dropFirst(9)))
        #expect(family.allSatisfy { $0.existsAndRuns })

        let clock = ContinuousClock()
        let start = clock.now
        #expect(kill(host.pid, SIGKILL) == 0)
        #expect(await host.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
        try await eventually("all 100 descendants of the killed agent are dead", timeout: .seconds(5)) {
            !family.contains(where: \.existsAndRuns)
        }
        let dead = clock.now
        // They were re-parented to us (subreaper), so they must also be reaped: no zombies.
        try await eventually("all 100 descendants are reaped (no zombies)", timeout: .seconds(5)) {
            !family.contains(where: \.exists)
        }
        // `sh -c 'sleep 600 & …; sleep 600'` may fork (not exec) the last sleep: a third
        // member per group that no CHILD line names. Check whole groups, not just the pids.
        let groups = stride(from: 0, to: family.count, by: 2).map { family[$0].pid }
        try await eventually("no process is left in any of the 50 process groups", timeout: .seconds(5)) {
            groups.allSatisfy { ProcFS.members(ofGroup: $0).isEmpty }
        }
        try await eventually("the guardian exited") { ProcStat.read(pid: guardianPID) == nil }
        print("[measure] agent SIGKILLed: 100 descendants dead after \(start.duration(to: dead).milliseconds) ms, reaped after \(start.duration(to: clock.now).milliseconds) ms")
    }

    @Test("control: without the guardian the grandchildren of a SIGKILLed agent survive")
    func withoutGuardianGrandchildrenSurvive() async throws {
        let host = try await spawnCaptured([try testHostPath(), "guardian-host", "5", "no-guardian"])
        try await host.output.waitFor(line: "READY", timeout: .seconds(30))
        let family = try descendants(from: host.output.texts)
        #expect(family.count == 10)
        kill(host.pid, SIGKILL)
        #expect(await host.process.exit.wait(timeout: .seconds(5)) != nil)
        // PDEATHSIG still kills the 5 direct children; their grandchildren are what the
        // guardian exists for. Wait for the direct children to die, then check.
        let leaders = stride(from: 0, to: family.count, by: 2).map { family[$0] }
        let grandchildren = stride(from: 1, to: family.count, by: 2).map { family[$0] }
        try await eventually("direct children die by PDEATHSIG") { !leaders.contains(where: \.existsAndRuns) }
        #expect(grandchildren.allSatisfy { $0.existsAndRuns }, "the control must show survivors, else the guardian test proves nothing")
        for leader in leaders { kill(-leader.pid, SIGKILL) }  // the whole groups
        try await eventually("cleanup") { leaders.allSatisfy { ProcFS.members(ofGroup: $0.pid).isEmpty } }
    }

    @Test("guardian kills registered groups when the agent's end closes, then exits")
    func guardianFiresOnEOF() async throws {
        let runtime = TestRuntime.shared
        let guardian = try Guardian.start(watcher: runtime.watcher)
        let child = try await spawnCaptured(["sh", "-c", "sleep 600 & echo \"CHILD $$ $!\"; sleep 600"])
        _ = try await child.output.waitFor("CHILD line") { $0.text.hasPrefix("CHILD ") }
        let family = try descendants(from: child.output.texts)
        try guardian.register(pgid: child.pgid)
        #expect(guardian.registeredCount == 1)
        guardian.abandon()  // exactly what the kernel does when the agent dies
        #expect(await child.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
        #expect(await guardian.exit?.wait(timeout: .seconds(5)) == .exited(code: 0))
        try await eventually("the grandchild is dead and reaped") { !family.contains(where: \.exists) }
        try await eventually("the group is empty") { ProcFS.members(ofGroup: child.pgid).isEmpty }
    }

    @Test("a disarmed guardian exits without killing; unregistered groups are spared")
    func disarmedGuardianSparesGroups() async throws {
        let runtime = TestRuntime.shared
        let guardian = try Guardian.start(watcher: runtime.watcher)
        let kept = try await runtime.spawner.spawn(SpawnSpec(arguments: ["sleep", "600"], environment: baseEnvironment, captureOutput: false))
        let unregistered = try await runtime.spawner.spawn(SpawnSpec(arguments: ["sleep", "600"], environment: baseEnvironment, captureOutput: false))
        try guardian.register(pgid: kept.pgid)
        try guardian.register(pgid: unregistered.pgid)
        try guardian.unregister(pgid: unregistered.pgid)
        guardian.disarm()
        #expect(await guardian.exit?.wait(timeout: .seconds(5)) == .exited(code: 0))
        #expect(isAlive(kept.pid) && isAlive(unregistered.pid))
        #expect(throws: Guardian.GuardianError.disarmed) { try guardian.register(pgid: kept.pgid) }

        // Unregistered after a first fire-test: a new guardian, unregister, abandon → spared.
        let second = try Guardian.start(watcher: runtime.watcher)
        try second.register(pgid: unregistered.pgid)
        try second.unregister(pgid: unregistered.pgid)
        second.abandon()
        #expect(await second.exit?.wait(timeout: .seconds(5)) == .exited(code: 0))
        #expect(isAlive(unregistered.pid))
        _ = await runtime.stopper.stop(kept.handle, grace: .seconds(5))
        _ = await runtime.stopper.stop(unregistered.handle, grace: .seconds(5))
    }

    @Test("a dead guardian is re-spawned and keeps every registered group", arguments: 0..<3)
    func deadGuardianIsRespawned(round: Int) async throws {
        let runtime = TestRuntime.shared
        let guardian = try Guardian.start(watcher: runtime.watcher)
        let events = LineCollector()
        guardian.observe { event in
            if case .respawned(let pid, let groups) = event { events.append(CapturedLine(stream: .stdout, text: "respawned \(pid) \(groups)")) }
        }
        let child = try await spawnCaptured(["sh", "-c", "sleep 600 & echo \"CHILD $$ $!\"; sleep 600"])
        _ = try await child.output.waitFor("CHILD line") { $0.text.hasPrefix("CHILD ") }
        let family = try descendants(from: child.output.texts)
        try guardian.register(pgid: child.pgid)
        let first = try #require(guardian.exit)
        let firstPID = guardian.pid
        #expect(guardian.isUp)

        kill(firstPID, SIGKILL)
        #expect(await first.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
        let line = try await events.waitFor("the respawn event", timeout: .seconds(5)) { $0.text.hasPrefix("respawned ") }
        #expect(line.text == "respawned \(guardian.pid) 1")
        #expect(guardian.pid != firstPID && guardian.isUp && guardian.respawnCount == 1)
        #expect(family.allSatisfy { $0.existsAndRuns }, "killing the guardian alone must not kill the children")

        // The new guardian does its job: the agent's end closes, the registered group dies.
        let second = try #require(guardian.exit)
        guardian.abandon()
        #expect(await child.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
        #expect(await second.wait(timeout: .seconds(5)) == .exited(code: 0))
        try await eventually("the grandchild is dead and reaped") { !family.contains(where: \.exists) }
        #expect(guardian.respawnCount == 1, "an abandoned guardian's exit is expected: no respawn")
    }

    @Test("guardian killed, then the agent SIGKILLed: no descendant survives", arguments: 0..<2)
    func guardianKilledThenAgentKilled(round: Int) async throws {
        let host = try await spawnCaptured([try testHostPath(), "guardian-host", "10"])
        try await host.output.waitFor(line: "READY", timeout: .seconds(60))
        let family = try descendants(from: host.output.texts)
        #expect(family.count == 20)
        let guardianLine = try #require(host.output.texts.first { $0.hasPrefix("GUARDIAN ") })
        let firstGuardian = try #require(Int32(guardianLine.dropFirst(9)))

        #expect(kill(firstGuardian, SIGKILL) == 0)
        let respawned = try await host.output.waitFor("the host re-spawns its guardian", timeout: .seconds(10)) {
            $0.text.hasPrefix("RESPAWNED ") || $0.text.hasPrefix("RESPAWN-FAILED ")
        }
        let fields = respawned.text.split(separator: " ")
        try #require(fields.count == 3 && fields[0] == "RESPAWNED", "\(respawned.text)")
        let newGuardian = try #require(Int32(fields[1]))
        #expect(fields[2] == "10", "every live group registered again")
        #expect(newGuardian != firstGuardian && isAlive(newGuardian))
        #expect(family.allSatisfy { $0.existsAndRuns })

        #expect(kill(host.pid, SIGKILL) == 0)
        #expect(await host.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
        try await eventually("all 20 descendants of the killed agent are dead", timeout: .seconds(5)) {
            !family.contains(where: \.existsAndRuns)
        }
        let groups = stride(from: 0, to: family.count, by: 2).map { family[$0].pid }
        try await eventually("no process is left in any of the 10 process groups", timeout: .seconds(5)) {
            groups.allSatisfy { ProcFS.members(ofGroup: $0).isEmpty }
        }
        try await eventually("the re-spawned guardian exited") { !isAlive(newGuardian) }
    }

    @Test("state file sweep kills what a crashed agent left behind, and spares recycled pids")
    func stateFileSweep() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let stateFile = directory + "/children.json"
        let host = try await spawnCaptured([try testHostPath(), "state-host", stateFile, "3", "wait"])
        try await host.output.waitFor(line: "READY", timeout: .seconds(30))
        let family = try descendants(from: host.output.texts)
        #expect(family.count == 6)
        let records = try ChildStateFile.load(path: stateFile)
        #expect(records.count == 3)
        #expect(records.allSatisfy { $0.pid == $0.pgid && $0.startTime > 0 && $0.session != nil })

        kill(host.pid, SIGKILL)
        #expect(await host.process.exit.wait(timeout: .seconds(5)) != nil)
        // Without guardian and PDEATHSIG, the children outlive the agent…
        #expect(family.allSatisfy { $0.existsAndRuns })

        // …plus an entry whose pid is alive but belongs to another process now (start time
        // differs): it must be left alone.
        let innocent = try await TestRuntime.shared.spawner.spawn(SpawnSpec(arguments: ["sleep", "600"], environment: baseEnvironment, captureOutput: false))
        let file = ChildStateFile(path: stateFile, durable: false)
        try file.replaceAll(records + [ChildRecord(name: "recycled", pid: innocent.pid, pgid: innocent.pgid, startTime: innocent.handle.startTime - 1)])

        let report = try await OrphanSweeper.sweep(stateFile: stateFile)
        #expect(report.killed.count == 3)
        #expect(report.stale.map(\.name) == ["recycled"])
        #expect(report.survivors.isEmpty)
        try await eventually("swept descendants are gone") { !family.contains(where: \.exists) }
        try await eventually("swept groups are empty") { records.allSatisfy { ProcFS.members(ofGroup: $0.pgid).isEmpty } }
        #expect(isAlive(innocent.pid), "a recycled pid was killed")
        _ = await TestRuntime.shared.stopper.stop(innocent.handle, grace: .seconds(5))

        // A second sweep finds nothing.
        let again = try await OrphanSweeper.sweep(stateFile: stateFile)
        #expect(again.killed.isEmpty && again.stale.count == 4)
    }

    @Test("a corrupt state file can never make the sweep signal init, everyone or ourselves")
    func sweepSafety() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/children.json"
        let me = try #require(ProcStat.read(pid: getpid()))
        let initStat = ProcStat.read(pid: 1)
        try ChildStateFile(path: path, durable: false).replaceAll([
            ChildRecord(name: "self", pid: getpid(), pgid: getpgrp(), startTime: me.startTime, session: me.session),
            ChildRecord(name: "init", pid: 1, pgid: 1, startTime: initStat?.startTime ?? 0),
            ChildRecord(name: "everyone", pid: 0, pgid: 0, startTime: 0),
        ])
        let report = try await OrphanSweeper.sweep(stateFile: path)
        #expect(report.killed.isEmpty)
        #expect(Set(report.stale.map(\.name)) == ["self", "init", "everyone"])
        #expect(try OrphanSweeper.adopt(stateFile: path).adopted.isEmpty)
        // A missing state file is simply empty.
        let empty = try await OrphanSweeper.sweep(stateFile: directory + "/missing.json")
        #expect(empty.killed.isEmpty && empty.stale.isEmpty && empty.survivors.isEmpty)
    }

    @Test("adopt: a restarted agent takes over the children it left, same pids")
    func adoptAfterRestart() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let stateFile = directory + "/children.json"
        let first = try await spawnCaptured([try testHostPath(), "state-host", stateFile, "3", "exit"])
        try await first.output.waitFor(line: "READY", timeout: .seconds(30))
        #expect(await first.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        let family = try descendants(from: first.output.texts)
        let leaders = first.output.texts.filter { $0.hasPrefix("CHILD ") }.compactMap { Int32($0.split(separator: " ")[1]) }
        #expect(leaders.count == 3)
        #expect(family.allSatisfy { $0.existsAndRuns }, "children must survive a graceful exit in adopt mode")

        let second = try await spawnCaptured([try testHostPath(), "adopt-host", stateFile])
        try await second.output.waitFor(line: "DONE", timeout: .seconds(30))
        let adopted = second.output.texts.filter { $0.hasPrefix("ADOPTED ") }.compactMap { Int32($0.split(separator: " ")[1]) }
        #expect(adopted.sorted() == leaders.sorted(), "adopted pids \(adopted) differ from the original \(leaders)")
        #expect(second.output.texts.contains("STALE 0"))
        let stopped = second.output.texts.filter { $0.hasPrefix("STOPPED ") }
        #expect(stopped.count == 3)
        #expect(stopped.allSatisfy { $0.contains(" exitedInGrace ") }, "\(stopped)")
        #expect(await second.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        try await eventually("adopted groups are gone") { !family.contains(where: \.exists) }
        try await eventually("adopted groups are empty") { leaders.allSatisfy { ProcFS.members(ofGroup: $0).isEmpty } }
    }
}
