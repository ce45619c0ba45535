import ProcmgrConfig
import ProcmgrEngine
import Testing
@testable import ProcmgrAgent

/// The gate's verdicts, synchronously: conditions, replicas, `since` bookkeeping.
@Suite struct DependencyGateTests {
    typealias Edge = DependencyGraph.Edge

    static func facts(
        running: Bool = true, state: ProcessState = .running, startup: Bool = true, ready: Bool = true, healthy: Bool = true,
        exit: Bool? = nil, pid: Int32? = 100
    ) -> DependencyFacts {
        DependencyFacts(
            programRunning: running, startupPassed: startup, ready: ready, healthy: healthy, lastExitSucceeded: exit,
            engineState: state, program: running ? pid : nil)
    }

    @Test("each condition reads the facts it names")
    func conditions() {
        let starting = Self.facts(state: .starting)
        #expect(DependencyCondition.started.holds(for: starting))
        #expect(!DependencyCondition.running.holds(for: starting))
        #expect(!DependencyCondition.running.holds(for: Self.facts(startup: false)))
        #expect(DependencyCondition.running.holds(for: Self.facts()))
        #expect(!DependencyCondition.running.holds(for: Self.facts(state: .terminating)))
        #expect(!DependencyCondition.ready.holds(for: Self.facts(ready: false)))
        #expect(DependencyCondition.ready.holds(for: Self.facts(healthy: false)))
        #expect(!DependencyCondition.healthy.holds(for: Self.facts(healthy: false)))
        #expect(!DependencyCondition.started.holds(for: Self.facts(running: false)))
        let completed = Self.facts(running: false, state: .finished, exit: true)
        #expect(DependencyCondition.completedSuccessfully.holds(for: completed))
        #expect(!DependencyCondition.completedSuccessfully.holds(for: Self.facts(running: false, state: .finished, exit: false)))
        #expect(!DependencyCondition.completedSuccessfully.holds(for: Self.facts(running: false, exit: nil)))
        // Ran successfully once but runs again now: not completed.
        #expect(!DependencyCondition.completedSuccessfully.holds(for: Self.facts(running: true, exit: true)))
    }

    @Test("a process without edges is satisfied; one with unmet edges waits, sorted, with since")
    func waitingAndSince() {
        let graph = DependencyGraph([
            .init(id: "db"), .init(id: "migrate"),
            .init(id: "api", edges: [Edge(dependency: "migrate", condition: .completedSuccessfully), Edge(dependency: "db", condition: .healthy)]),
        ])
        var gate = DependencyGate(graph: graph)
        var known: [String: DependencyFacts] = ["db": Self.facts(healthy: false), "migrate": Self.facts()]
        #expect(gate.evaluate("db", now: 1) { known[$0] } == .satisfied)
        #expect(gate.evaluate("api", now: 10) { known[$0] } == .waiting([
            WaitingFor(id: "db", condition: .healthy, since: 10), WaitingFor(id: "migrate", condition: .completedSuccessfully, since: 10),
        ]))
        // db turns healthy: only migrate is left, and its since is kept.
        known["db"] = Self.facts()
        #expect(gate.evaluate("api", now: 12) { known[$0] } == .waiting([WaitingFor(id: "migrate", condition: .completedSuccessfully, since: 10)]))
        #expect(gate.waiting("api") == [WaitingFor(id: "migrate", condition: .completedSuccessfully, since: 10)])
        // db fails again: a new count for it.
        known["db"] = Self.facts(healthy: false)
        #expect(gate.evaluate("api", now: 15) { known[$0] } == .waiting([
            WaitingFor(id: "db", condition: .healthy, since: 15), WaitingFor(id: "migrate", condition: .completedSuccessfully, since: 10),
        ]))
        known["db"] = Self.facts()
        known["migrate"] = Self.facts(running: false, state: .finished, exit: true)
        #expect(gate.evaluate("api", now: 20) { known[$0] } == .satisfied)
        #expect(gate.waiting("api").isEmpty)
    }

    @Test("a replicated dependency holds only when every replica meets the condition")
    func replicas() {
        let graph = DependencyGraph([
            .init(id: "db.0", group: "db"), .init(id: "db.1", group: "db"),
            .init(id: "api", edges: [Edge(dependency: "db", condition: .ready)]),
        ])
        #expect(graph.members["db"] == ["db.0", "db.1"])
        #expect(graph.dependents(of: "db.1") == ["api"])
        #expect(graph.dependencies(of: "api") == ["db.0", "db.1"])
        var gate = DependencyGate(graph: graph)
        var known: [String: DependencyFacts] = ["db.0": Self.facts(), "db.1": Self.facts(ready: false)]
        #expect(gate.evaluate("api", now: 1) { known[$0] } == .waiting([WaitingFor(id: "db", condition: .ready, since: 1)]))
        known["db.1"] = Self.facts()
        #expect(gate.evaluate("api", now: 2) { known[$0] } == .satisfied)
    }

    @Test("a member the engine does not know yet is waited for; a dependency with no member left holds")
    func unknownAndRemoved() {
        var gate = DependencyGate(graph: DependencyGraph([.init(id: "db"), .init(id: "api", edges: [Edge(dependency: "db", condition: .started)])]))
        #expect(gate.evaluate("api", now: 1) { _ in nil } == .waiting([WaitingFor(id: "db", condition: .started, since: 1)]))
        // A graph whose edge names a config id with no member (scaled to zero, or removed).
        gate.graph = DependencyGraph([.init(id: "api", edges: [Edge(dependency: "db", condition: .started)])])
        #expect(gate.evaluate("api", now: 2) { _ in nil } == .satisfied)
    }

    @Test("forget ends a wait's bookkeeping")
    func forget() {
        var gate = DependencyGate(graph: DependencyGraph([.init(id: "db"), .init(id: "api", edges: [Edge(dependency: "db", condition: .started)])]))
        _ = gate.evaluate("api", now: 1) { _ in nil }
        gate.forget("api")
        #expect(gate.waiting("api").isEmpty)
        #expect(gate.evaluate("api", now: 5) { _ in nil } == .waiting([WaitingFor(id: "db", condition: .started, since: 5)]))
    }
}

/// Stop levels: dependents first, flat processes in the first level.
@Suite struct StopOrderTests {
    typealias Edge = DependencyGraph.Edge

    @Test("a flat config is one level")
    func flat() {
        let graph = DependencyGraph([.init(id: "a"), .init(id: "b"), .init(id: "c")])
        #expect(StopOrder(stopping: ["c", "a", "b"], graph: graph).levels == [["a", "b", "c"]])
        #expect(StopOrder(stopping: [String](), graph: graph).levels == [])
    }

    @Test("a chain stops from the top; unrelated processes stop with the first level")
    func chain() {
        let graph = DependencyGraph([
            .init(id: "db"), .init(id: "migrate", edges: [Edge(dependency: "db", condition: .healthy)]),
            .init(id: "api", edges: [Edge(dependency: "db", condition: .healthy), Edge(dependency: "migrate", condition: .completedSuccessfully)]),
            .init(id: "web", edges: [Edge(dependency: "api", condition: .ready)]),
            .init(id: "cron"),
        ])
        // db is needed by migrate, which waits for api to stop first: the longest path decides.
        #expect(StopOrder(stopping: ["db", "migrate", "api", "web", "cron"], graph: graph).levels == [["cron", "web"], ["api"], ["migrate"], ["db"]])
        // Only part of the stack stops (a reload removed it): edges to what stays are ignored.
        #expect(StopOrder(stopping: ["api", "migrate"], graph: graph).levels == [["api"], ["migrate"]])
    }

    @Test("replicas of a dependency stop together after all their dependents")
    func replicas() {
        let graph = DependencyGraph([
            .init(id: "db.0", group: "db"), .init(id: "db.1", group: "db"),
            .init(id: "api.0", group: "api", edges: [Edge(dependency: "db", condition: .ready)]),
            .init(id: "api.1", group: "api", edges: [Edge(dependency: "db", condition: .ready)]),
        ])
        #expect(StopOrder(stopping: ["db.0", "db.1", "api.0", "api.1"], graph: graph).levels == [["api.0", "api.1"], ["db.0", "db.1"]])
    }

    @Test("a cycle (refused by validation) cannot hang it: its members go last")
    func cycle() {
        let graph = DependencyGraph([
            .init(id: "a", edges: [Edge(dependency: "b", condition: .started)]),
            .init(id: "b", edges: [Edge(dependency: "a", condition: .started)]),
            .init(id: "c"),
        ])
        #expect(StopOrder(stopping: ["a", "b", "c"], graph: graph).levels == [["c"], ["a", "b"]])
    }
}
