import ProcmgrSupport
import ProcmgrEngine

struct SimulatedConfig: ProcessConfiguration, Hashable {
    var id: String
    var terminationGracePeriod: Duration = .seconds(10)
}

struct SimulatedStartError: Error, CustomStringConvertible {
    var description: String { "simulated start failure" }
}

/// Pretends to run processes: starting and stopping take a few milliseconds, and `worker-2`
/// fails its first two starts so the example shows backoff and recovery.
final class SimulatedSyncer: ProcessSyncer {
    typealias Config = SimulatedConfig

    private let failuresLeft = LockedState(["worker-2": 2])

    func syncProcess(_ id: ProcessID, config: SimulatedConfig, updateType: UpdateType) async throws -> SyncOutcome {
        try await Task.sleep(for: .milliseconds(5))
        let fail = failuresLeft.withLock { counts -> Bool in
            guard let left = counts[id], left > 0 else { return false }
            counts[id] = left - 1
            return true
        }
        if fail { throw SimulatedStartError() }
        return .running
    }

    func syncTerminatingProcess(_ id: ProcessID, config: SimulatedConfig, termination: TerminationContext) async throws {
        // A polite process takes a while to stop; the grace period bounds the wait.
        try await Task.sleep(for: min(termination.remaining, .milliseconds(20)))
    }

    func syncTerminatedProcess(_ id: ProcessID, config: SimulatedConfig) async throws {}
}
