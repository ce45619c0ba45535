import ProcmgrHTTP
import ProcmgrSupport
import Synchronization

/// A scriptable ``AgentBackend``: fixed processes, logs and routes, an exposition
/// supplied by the test, actions answered with a chosen error (or success) and recorded.
final class FakeBackend: AgentBackend {
    private let ready = Atomic<Bool>(true)
    private let state = LockedState(State())
    private let exposition: @Sendable (inout [UInt8]) -> Void

    struct State {
        var processes: [ProcessView] = []
        var logs: [String: [LogLineView]] = [:]
        var routes: [String: [String]] = [:]
        var actionError: AgentActionError?
        var actions: [String] = []
        var requestedTails: [Int] = []
    }

    init(
        processes: [ProcessView] = [],
        logs: [String: [LogLineView]] = [:],
        routes: [String: [String]] = [:],
        exposition: @escaping @Sendable (inout [UInt8]) -> Void = { $0.append(contentsOf: "up 1\n".utf8) }
    ) {
        self.exposition = exposition
        state.withLock {
            $0.processes = processes
            $0.logs = logs
            $0.routes = routes
        }
    }

    var isReady: Bool {
        ready.load(ordering: .acquiring)
    }

    func setReady(_ value: Bool) {
        ready.store(value, ordering: .releasing)
    }

    private let problem = LockedState<String?>(nil)

    /// A problem the agent reports while otherwise ready (its orphan guard down).
    func setProblem(_ text: String?) {
        problem.withLock { $0 = text }
    }

    var readinessProblem: String? {
        guard isReady else { return "config not loaded or first reconcile not done" }
        return problem.withLock { $0 }
    }

    /// Every later action fails with `error` (`nil`: succeeds).
    func failActions(with error: AgentActionError?) {
        state.withLock { $0.actionError = error }
    }

    /// `restart api-1`, `stop api-1`, `reload`, in call order.
    var actions: [String] {
        state.withLock { $0.actions }
    }

    var requestedTails: [Int] {
        state.withLock { $0.requestedTails }
    }

    func writeMetrics(into buffer: inout [UInt8]) {
        exposition(&buffer)
    }

    func processes() async -> [ProcessView] {
        state.withLock { $0.processes }
    }

    func process(id: String) async -> ProcessView? {
        state.withLock { $0.processes.first { $0.id == id } }
    }

    func logs(id: String, tail: Int) async -> [LogLineView]? {
        state.withLock { state in
            state.requestedTails.append(tail)
            return state.logs[id].map { Array($0.suffix(tail)) }
        }
    }

    func restart(id: String) async throws(AgentActionError) {
        try perform("restart \(id)", id: id)
    }

    func stop(id: String) async throws(AgentActionError) {
        try perform("stop \(id)", id: id)
    }

    func scale(id: String, replicas: Int) async throws(AgentActionError) {
        try perform("scale \(id) \(replicas)", id: id)
    }

    func reload() async throws(AgentActionError) {
        try perform("reload", id: nil)
    }

    func routes(host: String) async -> [String] {
        state.withLock { $0.routes[host] ?? [] }
    }

    /// Events the test publishes; nothing counts them (no registry).
    let events: EventJournal = {
        do { return try EventJournal(registry: nil) } catch { preconditionFailure("no registry, no registration error") }
    }()

    /// Each known process's output ring (created on first use; tests append to it).
    private let outputRings = LockedState<[String: StreamRing<OutputLine>]>([:])

    func knowsProcess(id: String) async -> Bool {
        state.withLock { $0.processes.contains { $0.id == id } }
    }

    func logStream(id: String) async -> StreamRing<OutputLine>? {
        guard await knowsProcess(id: id) else { return nil }
        return outputRing(id)
    }

    /// The ring `…/logs?follow=true` of `id` reads (the test appends lines to it).
    func outputRing(_ id: String) -> StreamRing<OutputLine> {
        outputRings.withLock { rings in
            if let ring = rings[id] { return ring }
            let ring = StreamRing<OutputLine>(capacity: 200, subscriberBuffer: 64)
            rings[id] = ring
            return ring
        }
    }

    /// Makes `ring` the output of `id` (a test that needs another capacity or subscriber buffer).
    func setOutputRing(_ ring: StreamRing<OutputLine>, for id: String) {
        outputRings.withLock { $0[id] = ring }
    }

    func signal(id: String, signal: ProcessSignalName) async throws(AgentActionError) {
        try perform("signal \(id) \(signal.rawValue)", id: id)
    }

    private func perform(_ action: String, id: String?) throws(AgentActionError) {
        let error: AgentActionError? = state.withLock { state in
            if let id, !state.processes.contains(where: { $0.id == id }) {
                return .notFound(id: id)
            }
            if let error = state.actionError { return error }
            state.actions.append(action)
            return nil
        }
        if let error { throw error }
    }
}
