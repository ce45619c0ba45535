import Logging
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrTestKit
import Testing

typealias ManualManager = ProcessManager<ScriptedSyncer, ManualClock>

/// A manager on a manual clock with a scripted syncer, its registry, and `run()` going for the
/// duration of `body`.
struct Harness: Sendable {
    let manager: ManualManager
    let syncer: ScriptedSyncer
    let clock: ManualClock
    let registry: MetricsRegistry

    static func with<T: Sendable>(
        configure: (inout EngineConfiguration) -> Void = { _ in },
        _ body: @Sendable (Harness) async throws -> T
    ) async throws -> T {
        var configuration = EngineConfiguration()
        configuration.random = { 0.5 }
        configuration.wallClock = { 1_700_000_000 }
        configure(&configuration)
        let registry = MetricsRegistry()
        let syncer = ScriptedSyncer()
        let clock = ManualClock()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let manager = try ManualManager(syncer: syncer, clock: clock, configuration: configuration, registry: registry, logger: logger)
        let harness = Harness(manager: manager, syncer: syncer, clock: clock, registry: registry)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await manager.run()
                return nil
            }
            let result = try await body(harness)
            group.cancelAll()
            return result
        }
    }

    /// Waits for the syncer to have recorded an event matching `predicate`; fails the test if not.
    func waitForEvent(
        _ description: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ predicate: @escaping @Sendable (ScriptedSyncer.Event) -> Bool
    ) async {
        let seen = await syncer.recorder.waitUntil { $0.contains(where: predicate) }
        #expect(seen, "timed out waiting for \(description)", sourceLocation: sourceLocation)
    }

    /// Waits for `id` to reach `state`; fails the test if it does not.
    func waitFor(_ id: ProcessID, _ state: ProcessState, sourceLocation: SourceLocation = #_sourceLocation) async {
        let manager = self.manager
        let reached = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await manager.waitUntil(id, reaches: state).map { $0 >= state } ?? false }
            group.addTask {
                try? await Task.sleep(for: .seconds(30))
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        #expect(reached, "\(id) did not reach \(state)", sourceLocation: sourceLocation)
    }

    /// Waits until the manager's status of `id` satisfies `condition`.
    func waitForStatus(
        _ id: ProcessID, sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: @escaping @Sendable (ProcessStatus) -> Bool
    ) async {
        let manager = self.manager
        do {
            try await eventually("the status of \(id) matches", timeout: .seconds(30)) { manager.status(of: id).map(condition) ?? false }
        } catch {
            Issue.record("\(error); last: \(String(describing: manager.status(of: id)))", sourceLocation: sourceLocation)
        }
    }

    /// Exposition lines that mention `process="id"`.
    func seriesLines(of id: ProcessID) -> [Substring] {
        registry.exposition().split(separator: "\n").filter { $0.contains("process=\"\(id)\"") }
    }

    func sample(_ line: String) -> Double? {
        for candidate in registry.exposition().split(separator: "\n") where candidate.hasPrefix(line + " ") {
            return Double(candidate.dropFirst(line.count + 1))
        }
        return nil
    }
}
