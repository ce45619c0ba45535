import Foundation
import ProcmgrAgent
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// The agent's lifecycle events (issue 14): a real agent with real children, its journal read
/// through a ring subscription as `GET /api/v1/events` reads it. Serialized: each test runs an
/// agent in this process, and their children would otherwise compete for the two cores.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct LifecycleEventTests {
    /// Ids as the journal numbers them: strictly increasing in the order followers receive them.
    static func expectIncreasingIDs(_ events: [AgentEvent]) {
        let ids = events.map(\.id)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count && ids.first.map { $0 > 0 } ?? true, "ids: \(ids)")
    }

    static func index(_ events: [AgentEvent], _ predicate: (AgentEvent) -> Bool) -> Int? {
        events.firstIndex(where: predicate)
    }

    @Test("a crashing program: created, running, then exit → restart (reason exit) for each crash, restarts counted up")
    func crashYieldsExitThenRestart() async throws {
        try await InProcessAgent.with(processes: """
          - id: crasher
            command: ["sh", "-c", "exit 3"]
            restart: always
        """) { running in
            try await running.events.first("the second restart") { $0.type == .restart && $0.restarts == 2 }
            Self.expectIncreasingIDs(running.events.all)
            try Self.checkCrashes(running.events.of("crasher"))
        }
    }

    static func checkCrashes(_ events: [AgentEvent]) throws {
        let created = try #require(Self.index(events) { $0.type == .state && $0.from == nil && $0.to == "starting" })
        let started = try #require(Self.index(events) { $0.type == .state && $0.from == "starting" && $0.to == "running" })
        #expect(created < started)
        let exits = events.indices.filter { events[$0].type == .exit }
        let restarts = events.indices.filter { events[$0].type == .restart }
        try #require(restarts.count >= 2 && exits.count >= 2, "\(events.map(\.message))")
        // Every restart follows the exit it answers.
        for (exit, restart) in zip(exits, restarts) { #expect(exit < restart, "\(events.map(\.message))") }
        let exit = events[exits[0]]
        #expect(exit.exit == "exit 3" && (exit.pid ?? 0) > 0)
        #expect(exit.message == "crasher: program \(exit.pid ?? 0) ended (exit 3)")
        #expect(restarts.prefix(2).map { events[$0].reason } == ["exit", "exit"])
        #expect(restarts.prefix(2).map { events[$0].restarts } == [1, 2])
        #expect(events[restarts[0]].message == "crasher: restarting (reason: exit); restart 1")
        // Each program is announced with its pid before it ends: start(pid) precedes exit(pid),
        // and a restart is followed by the next program's start.
        let starts = events.indices.filter { events[$0].type == .start }
        try #require(starts.count >= 2, "\(events.map(\.message))")
        for (start, exit) in zip(starts, exits) {
            #expect(start < exit && events[start].pid == events[exit].pid, "\(events.map(\.message))")
        }
        #expect(restarts[0] < starts[1], "\(events.map(\.message))")
        let first = events[starts[0]]
        #expect(first.message == "crasher: program \(first.pid ?? 0) started")
    }

    @Test("a program that exits with restart: never: exit, then running → terminating (why) → terminated → finished")
    func exitWithoutRestartTerminates() async throws {
        try await InProcessAgent.with(processes: """
          - id: once
            command: ["sh", "-c", "exit 0"]
            restart: never
        """) { running in
            try await running.events.first("once finished") { $0.type == .state && $0.to == "finished" }
            #expect(!running.events.all.contains { $0.type == .restart })
            try Self.checkExitThenTermination(running.events.of("once").filter { $0.type == .state || $0.type == .exit })
        }
    }

    static func checkExitThenTermination(_ events: [AgentEvent]) throws {
        let exit = try #require(Self.index(events) { $0.type == .exit && $0.exit == "exit 0" })
        let terminating = try #require(Self.index(events) { $0.type == .state && $0.to == "terminating" })
        #expect(events[terminating].from == "running")
        #expect(events[terminating].reason?.contains("restart: never") == true, "\(events[terminating])")
        let terminated = try #require(Self.index(events) { $0.type == .state && $0.from == "terminating" && $0.to == "terminated" })
        let finished = try #require(Self.index(events) { $0.type == .state && $0.from == "terminated" && $0.to == "finished" })
        #expect(exit < terminating && terminating < terminated && terminated < finished, "\(events.map(\.message))")
    }

    @Test("a stop: running → terminating (requested), the program's exit by SIGTERM, terminated, finished")
    func stopYieldsTerminationStates() async throws {
        try await InProcessAgent.with(processes: """
          - id: sleeper
            command: ["sleep", "600"]
        """) { running in
            try await running.events.first("sleeper running") { $0.type == .state && $0.to == "running" }
            try await running.agent.api.stop(id: "sleeper")
            try await running.events.first("sleeper finished") { $0.type == .state && $0.to == "finished" }
            Self.expectIncreasingIDs(running.events.all)
            try Self.checkStop(running.events.of("sleeper"))
        }
    }

    static func checkStop(_ events: [AgentEvent]) throws {
        let terminating = try #require(Self.index(events) { $0.type == .state && $0.to == "terminating" })
        let terminated = try #require(Self.index(events) { $0.type == .state && $0.to == "terminated" })
        let exit = try #require(Self.index(events) { $0.type == .exit })
        #expect(terminating < terminated && terminating < exit)
        #expect(events[exit].exit == "signal 15 (TERM)")
        #expect(events[terminating].message.hasPrefix("sleeper: running → terminating ("))
    }

    @Test("a readiness probe flipping: probe events (readiness passing/failing) and ready true/false, once per flip")
    func readinessFlipYieldsProbeAndReady() async throws {
        let marker = try Marker()
        defer { marker.remove() }
        try await InProcessAgent.with(processes: """
          - id: gated
            command: ["sleep", "600"]
        \(marker.readinessProbe)
        """) { running in
            try await running.events.first("gated running") { $0.type == .state && $0.to == "running" }
            marker.create()
            let passing = try await running.events.first("readiness passing") { $0.type == .probe && $0.result == "success" }
            #expect(passing.probe == "readiness" && passing.message == "gated: readiness probe passing (last check: success)")
            try await running.events.first("ready") { $0.type == .ready && $0.ready == true }
            try marker.delete()
            let failing = try await running.events.first("readiness failing") { $0.type == .probe && $0.result == "failure" }
            #expect(failing.probe == "readiness")
            let notReady = try await running.events.first("not ready") { $0.type == .ready && $0.ready == false }
            #expect(notReady.message == "gated: not ready")
            let events = running.events.of("gated")
            // One event per flip, not per check (dozens of checks ran).
            #expect(events.filter { $0.type == .probe }.count == 2, "\(events.map(\.message))")
            #expect(events.filter { $0.type == .ready }.map(\.ready) == [true, false])
            let order = [passing.id, failing.id, notReady.id]
            #expect(order == order.sorted())
        }
    }

    @Test("a start waiting for a dependency: dependency_wait true, then false (satisfied) once the dependency is healthy")
    func dependencyWaitStartsAndEnds() async throws {
        let marker = try Marker()
        defer { marker.remove() }
        try await InProcessAgent.with(processes: """
          - id: web
            command: ["sleep", "600"]
            depends_on: { db: { condition: ready } }
          - id: db
            command: ["sleep", "600"]
        \(marker.readinessProbe)
        """) { running in
            let began = try await running.events.first("web waits") { $0.type == .dependencyWait && $0.waiting == true }
            #expect(began.process == "web" && began.dependency == "db" && began.condition == "ready")
            #expect(began.message == "web: waiting for db to be ready")
            marker.create()
            let ended = try await running.events.first("web stops waiting") { $0.type == .dependencyWait && $0.waiting == false }
            #expect(ended.process == "web" && ended.dependency == "db" && ended.reason == "satisfied")
            #expect(began.id < ended.id)
            // The dependency's readiness is published before the wait it ends.
            let dbReady = try #require(running.events.all.first { $0.process == "db" && $0.type == .ready && $0.ready == true })
            #expect(dbReady.id < ended.id)
            try await running.events.first("web running") { $0.process == "web" && $0.type == .state && $0.to == "running" }
        }
    }

    @Test("following the log of a process still waiting for its dependency: its first line arrives once it runs")
    func followWhileWaiting() async throws {
        let marker = try Marker()
        defer { marker.remove() }
        try await InProcessAgent.with(processes: """
          - id: web
            command: ["sh", "-c", "echo first line; exec sleep 600"]
            depends_on: { db: { condition: ready } }
          - id: db
            command: ["sleep", "600"]
        \(marker.readinessProbe)
        """) { running in
            try await running.events.first("web waits") { $0.type == .dependencyWait && $0.waiting == true }
            let ring = try #require(await running.agent.api.logStream(id: "web"))
            let (replay, subscription) = ring.subscribe(after: nil, tail: 100)
            #expect(replay.entries.isEmpty)
            let received = LockedState<[String]>([])
            let reader = Task {
                while let delivery = await subscription.next() {
                    if case .entries(let entries) = delivery { received.withLock { $0 += entries.map(\.element.text) } }
                }
            }
            defer { reader.cancel() }
            marker.create()
            try await eventually("web's first line reaches the follower", timeout: .seconds(30)) {
                received.withLock { $0.first } == "first line"
            }
        }
    }

    @Test("reloads: a broken config is rejected with its problems, a good one applied; the source is named")
    func reloadResults() async throws {
        try await InProcessAgent.with(processes: """
          - id: steady
            command: ["sleep", "600"]
        """) { running in
            let startup = try await running.events.first("the first load") { $0.type == .reload }
            #expect(startup.result == "applied" && startup.source == "file" && startup.message == "config applied (source: file)")
            try "processes:\n  - id: broken\n    restart: sometimes\n".write(toFile: running.file, atomically: true, encoding: .utf8)
            await #expect(throws: AgentActionError.self) { try await running.agent.api.reload() }
            let rejected = try await running.events.first("rejected") { $0.type == .reload && $0.result == "rejected" }
            #expect(rejected.source == "api" && !(rejected.problems ?? []).isEmpty)
            #expect(rejected.message.hasPrefix("config rejected (source: api): ") && !rejected.message.contains("\n"))
            try InProcessAgent.config(directory: running.directory, processes: """
              - id: steady
                command: ["sleep", "600"]
              - id: added
                command: ["sleep", "600"]
            """).write(toFile: running.file, atomically: true, encoding: .utf8)
            try await running.agent.api.reload()
            let applied = try await running.events.first("applied") { $0.type == .reload && $0.result == "applied" && $0.id > rejected.id }
            #expect(applied.source == "api" && applied.problems == nil)
            try await running.events.first("added created") { $0.process == "added" && $0.type == .state && $0.to == "starting" }
        }
    }

    @Test("scale through the API yields a scale event with the replica count")
    func scaleYieldsEvent() async throws {
        try await InProcessAgent.with(processes: """
          - id: web
            command: ["sleep", "600"]
            replicas: 1
        """) { running in
            try await running.agent.api.scale(id: "web", replicas: 3)
            let scaled = try await running.events.first("scaled") { $0.type == .scale }
            #expect(scaled.process == "web" && scaled.replicas == 3 && scaled.message == "web: scaled to 3 replicas")
        }
    }

    @Test("every event type the stream can carry has a procmgr_events_total series in the agent's exposition (oom at 0)")
    func everyTypeIsCounted() async throws {
        try await InProcessAgent.with(processes: """
          - id: web
            command: ["sleep", "600"]
            replicas: 1
        """) { running in
            try await running.agent.api.scale(id: "web", replicas: 2)
            try await running.events.first("scaled") { $0.type == .scale }
            var buffer: [UInt8] = []
            running.agent.api.writeMetrics(into: &buffer)
            let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n")
            func value(_ type: AgentEventType) -> Double? {
                let prefix = #"procmgr_events_total{type="\#(type.rawValue)"} "#
                return lines.first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
            }
            for type in AgentEventType.allCases { #expect(value(type) != nil, "no series for \(type.rawValue)") }
            #expect(value(.oom) == 0 && value(.scale) == 1)
            #expect((value(.state) ?? 0) >= 1 && value(.reload) == 1)
        }
    }
}

/// A file whose existence a test process's readiness probe checks (`test -e`): the test makes the
/// process ready or not by creating or deleting it.
private struct Marker {
    let path: String

    init() throws {
        path = try makeTemporaryDirectory() + "/marker"
    }

    /// The `readiness:` block of a process (YAML, indented for a `processes:` entry).
    var readinessProbe: String {
        """
            readiness:
              exec: { command: ["test", "-e", "\(path)"] }
              interval: 50ms
        """
    }

    func create() { _ = FileManager.default.createFile(atPath: path, contents: Data()) }

    func delete() throws { try FileManager.default.removeItem(atPath: path) }

    /// Removes the marker's directory.
    func remove() { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
}
