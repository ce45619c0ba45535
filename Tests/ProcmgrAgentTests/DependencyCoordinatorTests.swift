import Logging
import ProcmgrConfig
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrSupport
import ProcmgrTestKit
import Testing
@testable import ProcmgrAgent

/// The coordinator with scripted facts: waits resume on the change that satisfies them, cancel
/// cleanly, and leave no continuation or series behind.
@Suite(.timeLimit(.minutes(1)))
struct DependencyCoordinatorTests {
    typealias Edge = DependencyGraph.Edge

    /// Facts set by the test; reads are what the coordinator sees.
    final class ScriptedFacts: ConditionSource {
        private let known = LockedState<[String: DependencyFacts]>([:])
        func set(_ id: String, _ facts: DependencyFacts?) { known.withLock { $0[id] = facts } }
        func facts(of id: String) -> DependencyFacts? { known.withLock { $0[id] } }
    }

    enum Outcome: Sendable, Equatable { case resumed, cancelled, failed }

    struct Fixture {
        let facts = ScriptedFacts()
        let registry = MetricsRegistry()
        let restarted = EventRecorder<String>()
        let now = LockedState(1000.0)
        let coordinator: DependencyCoordinator

        init(_ nodes: [DependencyGraph.Node]) throws {
            let restarted = restarted
            let now = now
            coordinator = try DependencyCoordinator(
                source: facts, registry: registry, logger: Logger(label: "test"), wallClock: { now.withLock { $0 } },
                restartDependent: { restarted.record($0) })
            coordinator.setGraph(DependencyGraph(nodes))
        }

        func exposition() -> String {
            var buffer: [UInt8] = []
            registry.writeExposition(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }

        /// Starts a wait in its own task; the task's value says how it ended.
        func wait(_ id: String) -> Task<Outcome, Never> {
            let coordinator = coordinator
            return Task {
                do {
                    try await coordinator.waitUntilSatisfied(id)
                    return .resumed
                } catch is CancellationError {
                    return .cancelled
                } catch {
                    return .failed
                }
            }
        }

        func waitUntilWaiting(_ id: String) async throws {
            try await eventually("\(id) waiting") { coordinator.waitingProcesses.contains(id) }
        }
    }

    static let stack: [DependencyGraph.Node] = [
        .init(id: "db"), .init(id: "job"),
        .init(id: "api", edges: [Edge(dependency: "db", condition: .healthy), Edge(dependency: "job", condition: .completedSuccessfully)]),
    ]

    static func running(pid: Int32 = 7, healthy: Bool = true) -> DependencyFacts {
        DependencyFacts(programRunning: true, ready: true, healthy: healthy, lastExitSucceeded: nil, engineState: .running, program: pid)
    }

    static let completed = DependencyFacts(programRunning: false, ready: false, healthy: false, lastExitSucceeded: true, engineState: .finished, program: nil)

    @Test("a process without dependencies, or with all of them met, passes at once")
    func passesAtOnce() async throws {
        let fixture = try Fixture(Self.stack)
        try await fixture.coordinator.waitUntilSatisfied("db")
        fixture.facts.set("db", Self.running())
        fixture.facts.set("job", Self.completed)
        try await fixture.coordinator.waitUntilSatisfied("api")
        #expect(fixture.coordinator.waitingProcesses.isEmpty)
    }

    @Test("a wait resumes on the change that satisfies it; the API view and the gauge exist only meanwhile")
    func resumesOnChange() async throws {
        let fixture = try Fixture(Self.stack)
        fixture.facts.set("db", Self.running(healthy: false))
        let wait = fixture.wait("api")
        try await fixture.waitUntilWaiting("api")
        #expect(fixture.coordinator.waitingFor("api") == [
            WaitingFor(id: "db", condition: .healthy, since: 1000), WaitingFor(id: "job", condition: .completedSuccessfully, since: 1000),
        ])
        fixture.now.withLock { $0 = 1002.5 }
        let text = fixture.exposition()
        #expect(text.contains(#"procmgr_dependency_waiting_seconds{process="api",dependency="db"} 2.5"#), "\(text)")
        #expect(text.contains(#"procmgr_dependency_waiting_seconds{process="api",dependency="job"} 2.5"#))

        fixture.facts.set("db", Self.running())
        fixture.coordinator.conditionsChanged("db")
        #expect(fixture.coordinator.waitingFor("api") == [WaitingFor(id: "job", condition: .completedSuccessfully, since: 1000)])
        #expect(!fixture.exposition().contains(#"dependency="db""#))
        fixture.facts.set("job", Self.completed)
        fixture.coordinator.conditionsChanged("job")
        #expect(await wait.value == .resumed)
        #expect(fixture.coordinator.waitingFor("api").isEmpty)
        #expect(!fixture.exposition().contains("procmgr_dependency_waiting_seconds{"))
    }

    @Test("cancelling the waiting task removes its continuation and series and throws CancellationError")
    func cancellation() async throws {
        let fixture = try Fixture(Self.stack)
        let wait = fixture.wait("api")
        try await fixture.waitUntilWaiting("api")
        #expect(fixture.exposition().contains(#"procmgr_dependency_waiting_seconds{process="api""#))
        wait.cancel()
        #expect(await wait.value == .cancelled)
        #expect(fixture.coordinator.waitingProcesses.isEmpty)
        #expect(fixture.coordinator.waitingFor("api").isEmpty)
        #expect(!fixture.exposition().contains("procmgr_dependency_waiting_seconds{"))
        // A change afterwards finds nothing to resume (a leaked or twice-resumed continuation
        // would trap here).
        fixture.facts.set("db", Self.running())
        fixture.facts.set("job", Self.completed)
        fixture.coordinator.conditionsChanged("db")
    }

    @Test("a task cancelled before it waits never registers")
    func cancelledBeforeWaiting() async throws {
        let fixture = try Fixture(Self.stack)
        let coordinator = fixture.coordinator
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await coordinator.waitUntilSatisfied("api")
                return Outcome.resumed
            } catch {
                return Outcome.cancelled
            }
        }
        #expect(await task.value == .cancelled)
        #expect(coordinator.waitingProcesses.isEmpty)
    }

    @Test("supersede lets a wait go with CancellationError")
    func supersede() async throws {
        let fixture = try Fixture(Self.stack)
        let wait = fixture.wait("api")
        try await fixture.waitUntilWaiting("api")
        fixture.coordinator.supersede("api")
        #expect(await wait.value == .cancelled)
        #expect(fixture.coordinator.waitingProcesses.isEmpty)
        fixture.coordinator.supersede("api")  // nothing waits: no effect
    }

    @Test("a new graph that drops the unmet edge resumes the wait; one that only changes edges of a passed process restarts nothing")
    func newGraph() async throws {
        let fixture = try Fixture(Self.stack)
        fixture.facts.set("job", Self.completed)
        let wait = fixture.wait("api")
        try await fixture.waitUntilWaiting("api")
        fixture.coordinator.setGraph(DependencyGraph([
            .init(id: "db"), .init(id: "job"), .init(id: "api", edges: [Edge(dependency: "job", condition: .completedSuccessfully)]),
        ]))
        #expect(await wait.value == .resumed)
        #expect(fixture.restarted.events.isEmpty)
    }

    @Test("restart: true restarts the dependent when the dependency runs a new program; without it nothing happens")
    func restartPropagation() async throws {
        let fixture = try Fixture([
            .init(id: "db"), .init(id: "cache"),
            .init(id: "api", edges: [Edge(dependency: "db", condition: .started, restart: true), Edge(dependency: "cache", condition: .started)]),
        ])
        fixture.facts.set("db", Self.running(pid: 10))
        fixture.facts.set("cache", Self.running(pid: 20))
        fixture.coordinator.conditionsChanged("db")
        fixture.coordinator.conditionsChanged("cache")
        try await fixture.coordinator.waitUntilSatisfied("api")
        // db exits: no new program yet, nothing to do.
        fixture.facts.set("db", DependencyFacts(programRunning: false, ready: false, healthy: false, lastExitSucceeded: false, engineState: .running, program: nil))
        fixture.coordinator.conditionsChanged("db")
        #expect(fixture.restarted.events.isEmpty)
        fixture.facts.set("db", Self.running(pid: 11))
        fixture.coordinator.conditionsChanged("db")
        fixture.coordinator.conditionsChanged("db")  // the same program again: once only
        #expect(fixture.restarted.events == ["api"])
        fixture.facts.set("cache", Self.running(pid: 21))
        fixture.coordinator.conditionsChanged("cache")
        #expect(fixture.restarted.events == ["api"])
    }

    @Test("many waits resumed and cancelled concurrently leave nothing behind", .timeLimit(.minutes(1)))
    func concurrentChurn() async throws {
        let nodes: [DependencyGraph.Node] = [.init(id: "db")] + (0..<200).map { .init(id: "p\($0)", edges: [Edge(dependency: "db", condition: .started)]) }
        let fixture = try Fixture(nodes)
        let waits = (0..<200).map { fixture.wait("p\($0)") }
        for (index, wait) in waits.enumerated() where index % 2 == 0 { wait.cancel() }
        fixture.facts.set("db", Self.running())
        fixture.coordinator.conditionsChanged("db")
        var outcomes: [Outcome] = []
        for wait in waits { outcomes.append(await wait.value) }
        #expect(!outcomes.contains(.failed))
        #expect(outcomes.enumerated().allSatisfy { $0.offset % 2 == 0 || $0.element == .resumed })
        #expect(fixture.coordinator.waitingProcesses.isEmpty)
        #expect(!fixture.exposition().contains("procmgr_dependency_waiting_seconds{"))
    }
}
