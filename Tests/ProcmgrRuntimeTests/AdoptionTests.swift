import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// "CHILD <id> <pid> <port>" lines of an adopt-runtime host.
private struct HostedChild: Equatable, CustomStringConvertible {
    let id: String
    let pid: Int32
    let port: Int
    var description: String { "\(id)=\(pid):\(port)" }
}

private func hostedChildren(_ lines: [String]) throws -> [String: HostedChild] {
    var result: [String: HostedChild] = [:]
    for line in lines where line.hasPrefix("CHILD ") {
        let fields = line.split(separator: " ").map(String.init)
        try #require(fields.count == 4, "bad line \(line)")
        let child = HostedChild(id: fields[1], pid: try #require(Int32(fields[2])), port: try #require(Int(fields[3])))
        result[child.id] = child
    }
    return result
}

private func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

@Suite("Adopt mode (orphans: adopt)", .serialized, .timeLimit(.minutes(3)))
struct AdoptionTests {
    @Test("adopt mode: restart the host process and the children keep their PIDs")
    func childrenKeepTheirPIDs() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let first = try await spawnCaptured([try testHostPath(), "adopt-runtime", directory, "3", "wait"])
        try await first.output.waitFor(line: "READY", timeout: .seconds(60))
        let before = try hostedChildren(first.output.texts)
        #expect(before.count == 3)
        let startTimes = try before.mapValues { try #require(ProcStat.read(pid: $0.pid)?.startTime) }
        _ = try await first.output.waitFor("output of svc-0") { $0.text.hasPrefix("OUTPUT svc-0 tick") }

        #expect(kill(first.pid, SIGKILL) == 0)
        #expect(await first.process.exit.wait(timeout: .seconds(5)) == .signaled(signal: SIGKILL, coreDumped: false))
        // No guardian and no PDEATHSIG in adopt mode: the children outlive their agent.
        for child in before.values {
            #expect(isAlive(child.pid, startTime: startTimes[child.id]), "\(child) died with the host")
        }

        // The new host manages only two of the three: svc-2 is swept.
        let clock = ContinuousClock()
        let restartedAt = clock.now
        let second = try await spawnCaptured([try testHostPath(), "adopt-runtime", directory, "2", "stop"])
        try await second.output.waitFor(line: "READY", timeout: .seconds(60))
        let adoptedAfter = restartedAt.duration(to: clock.now)
        let after = try hostedChildren(second.output.texts)
        #expect(after["svc-0"] == before["svc-0"], "same pid and port: \(after) vs \(before)")
        #expect(after["svc-1"] == before["svc-1"], "same pid and port: \(after) vs \(before)")
        let swept = try #require(before["svc-2"])
        #expect(second.output.texts.contains("SWEPT svc-2 \(swept.pid)"))
        try await eventually("the unclaimed child is gone") { !isAlive(swept.pid, startTime: startTimes["svc-2"]) }
        // Output written while no agent ran was kept in the FIFO and reaches the new agent.
        for id in ["svc-0", "svc-1"] {
            _ = try await second.output.waitFor("output of \(id) in the new host") { $0.text.hasPrefix("OUTPUT \(id) tick") }
        }

        // Managed for real: the new host stops them.
        try await second.output.waitFor(line: "STOPPED", timeout: .seconds(30))
        for id in ["svc-0", "svc-1"] {
            let child = try #require(before[id])
            try await eventually("\(id) is gone") { !isAlive(child.pid, startTime: startTimes[id]) }
            try await eventually("\(id)'s group is empty") { ProcFS.members(ofGroup: child.pid).isEmpty }
        }
        #expect(await second.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        #expect(try ChildStateFile.load(path: directory + "/children.json").isEmpty, "nothing left in the state file")
        #expect(directoryEntries(directory + "/children.json.output").isEmpty, "no FIFO left behind")
        print("[measure] adopt: new host running with 2 adopted children and 1 swept after \(adoptedAfter.milliseconds) ms")
    }

    @Test("adopt mode: a child whose config changed while no agent ran is restarted, not kept")
    func changedConfigRestarts() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let first = try await spawnCaptured([try testHostPath(), "adopt-runtime", directory, "1", "wait"])
        try await first.output.waitFor(line: "READY", timeout: .seconds(60))
        let old = try #require(try hostedChildren(first.output.texts)["svc-0"])
        let oldStart = try #require(ProcStat.read(pid: old.pid)?.startTime)
        #expect(kill(first.pid, SIGKILL) == 0)
        #expect(await first.process.exit.wait(timeout: .seconds(5)) != nil)
        #expect(isAlive(old.pid, startTime: oldStart))

        let second = try await spawnCaptured([try testHostPath(), "adopt-runtime", directory, "1", "stop", "changed"])
        try await second.output.waitFor(line: "READY", timeout: .seconds(60))
        let new = try #require(try hostedChildren(second.output.texts)["svc-0"])
        #expect(new.pid != old.pid, "a child started with another config must not be kept")
        #expect(new.port == old.port, "the process keeps its port across the restart")
        try await eventually("the old child is gone") { !isAlive(old.pid, startTime: oldStart) }
        try await second.output.waitFor(line: "STOPPED", timeout: .seconds(30))
        #expect(await second.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        #expect(try ChildStateFile.load(path: directory + "/children.json").isEmpty)
    }
}
