import Foundation
import Logging
import ProcmgrAgent
import ProcmgrHTTP
import ProcmgrSupport
import ProcmgrTestKit
import ServiceLifecycle
import Testing

/// An ``Agent`` run inside the test process (no HTTP listener: it starts at once), so a test
/// reads its event journal directly. Its children are real processes, spawned and reaped by the
/// agent's own runtime (its exit watcher coexists with the test process's others).
struct InProcessAgent: Sendable {
    let agent: Agent
    let directory: String
    let file: String
    let events: EventLog

    /// Writes `processes` (the `processes:` list, indented by two) under a temporary state
    /// directory, runs an agent on it, calls `body` once the config is loaded, and shuts the
    /// agent down gracefully afterwards.
    static func with(
        processes: String, _ body: @Sendable (InProcessAgent) async throws -> Void
    ) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/procmgr.yaml"
        try config(directory: directory, processes: processes).write(toFile: file, atomically: true, encoding: .utf8)
        var logger = Logger(label: "events-test")
        logger.logLevel = .error
        let agent = try await Agent(options: AgentOptions(origin: .file(path: file), fileCheckInterval: nil), logger: logger)
        // Subscribed before the agent runs: every event from the first load on is seen.
        let events = EventLog(agent.events)
        let running = InProcessAgent(agent: agent, directory: directory, file: file, events: events)
        let group = ServiceGroup(services: [agent], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { await events.drain() }
            var failure: (any Error)?
            do {
                // The body starts once the config is loaded (the API knows its processes).
                try await events.first("the first config load") { $0.type == .reload }
                try await body(running)
            } catch {
                failure = error
            }
            await group.triggerGracefulShutdown()
            events.stop()
            try await tasks.waitForAll()
            if let failure { throw failure }
        }
    }

    static func config(directory: String, processes: String) -> String {
        """
        agent:
          state_dir: \(directory)/state
          shutdown_grace_period: 5s
        processes:
        \(processes)
        """
    }
}

/// Everything a journal publishes from its creation on, collected by one follower (the same
/// ``StreamRing`` subscription `GET /api/v1/events` uses) so tests can wait for an event with a
/// deadline and check the order of what came before it.
final class EventLog: Sendable {
    private let subscription: StreamRing<AgentEvent>.Subscription
    private let seen = LockedState<[AgentEvent]>([])
    private let overflowed = LockedState(false)

    init(_ journal: EventJournal) {
        subscription = journal.ring.subscribe(after: nil).subscription
    }

    /// Reads until ``stop()``.
    func drain() async {
        while let delivery = await subscription.next() {
            switch delivery {
            case .entries(let entries): seen.withLock { $0 += entries.map(\.element) }
            case .keepAlive: continue
            case .overflowed: overflowed.withLock { $0 = true }
            }
        }
    }

    func stop() { subscription.cancel() }

    var all: [AgentEvent] { seen.withLock { $0 } }

    /// Events of `process` (all events when nil).
    func of(_ process: String?) -> [AgentEvent] { all.filter { process == nil || $0.process == process } }

    /// Waits (real time, failing loudly) until an event matching `predicate` was published; returns the first.
    @discardableResult
    func first(
        _ what: String, timeout: Duration = .seconds(20), where predicate: @escaping @Sendable (AgentEvent) -> Bool
    ) async throws -> AgentEvent {
        try await eventually("\(what); events so far: \(all.map(\.message))", timeout: timeout, every: .milliseconds(10)) {
            if overflowed.withLock({ $0 }) { throw PollTimeout(description: "the event follower overflowed") }
            return all.contains(where: predicate)
        }
        return try #require(all.first(where: predicate))
    }
}
