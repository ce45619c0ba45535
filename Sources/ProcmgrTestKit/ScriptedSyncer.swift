public import ProcmgrEngine
import ProcmgrSupport

/// A config for tests: a version to tell updates apart and a grace period.
public struct TestConfig: ProcessConfiguration, Hashable {
    public var version: Int
    public var terminationGracePeriod: Duration

    public init(version: Int = 1, terminationGracePeriod: Duration = .seconds(30)) {
        self.version = version
        self.terminationGracePeriod = terminationGracePeriod
    }
}

/// An error a scripted step throws.
public struct ScriptedError: Error, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A transient error a scripted step throws.
public struct ScriptedTransientError: TransientSyncError, Hashable {
    public init() {}
}

/// A fake syncer whose hooks follow a per-process script and report every call as an event.
///
/// Unscripted calls succeed at once. A `.hang` step blocks until its task is cancelled, which is how
/// tests observe the engine's cancellation of moot work.
public final class ScriptedSyncer: ProcessSyncer {
    public typealias Config = TestConfig

    public enum Step: Sendable, Hashable {
        case succeed
        case fail(String)
        case failTransient
        case terminal(String)
        case resync(after: Duration)
        /// Block until cancelled, then throw `CancellationError`.
        case hang
    }

    public enum Event: Sendable, Hashable {
        case sync(ProcessID, version: Int, UpdateType)
        case syncCancelled(ProcessID)
        case terminating(ProcessID, TerminationContext)
        case terminatingCancelled(ProcessID)
        case terminated(ProcessID)
    }

    private struct Scripts {
        var sync: [ProcessID: [Step]] = [:]
        var terminating: [ProcessID: [Step]] = [:]
        var terminated: [ProcessID: [Step]] = [:]
    }

    public let recorder = EventRecorder<Event>()
    private let scripts = LockedState(Scripts())

    public init() {}

    public var events: [Event] { recorder.events }

    /// Queues steps for the next sync calls of `id`.
    public func scriptSync(_ id: ProcessID, _ steps: Step...) {
        scripts.withLock { $0.sync[id, default: []].append(contentsOf: steps) }
    }

    /// Queues steps for the next terminating calls of `id`.
    public func scriptTerminating(_ id: ProcessID, _ steps: Step...) {
        scripts.withLock { $0.terminating[id, default: []].append(contentsOf: steps) }
    }

    /// Queues steps for the next terminated calls of `id`.
    public func scriptTerminated(_ id: ProcessID, _ steps: Step...) {
        scripts.withLock { $0.terminated[id, default: []].append(contentsOf: steps) }
    }

    public func syncProcess(_ id: ProcessID, config: TestConfig, updateType: UpdateType) async throws -> SyncOutcome {
        recorder.record(.sync(id, version: config.version, updateType))
        switch nextStep(\.sync, id) {
        case .succeed: return .running
        case .resync(let delay): return .resync(after: delay)
        case .terminal(let reason): return .terminal(reason: reason)
        case .fail(let message): throw ScriptedError(message)
        case .failTransient: throw ScriptedTransientError()
        case .hang:
            await hangUntilCancelled()
            recorder.record(.syncCancelled(id))
            throw CancellationError()
        }
    }

    public func syncTerminatingProcess(_ id: ProcessID, config: TestConfig, termination: TerminationContext) async throws {
        recorder.record(.terminating(id, termination))
        try await perform(nextStep(\.terminating, id)) { self.recorder.record(.terminatingCancelled(id)) }
    }

    public func syncTerminatedProcess(_ id: ProcessID, config: TestConfig) async throws {
        recorder.record(.terminated(id))
        try await perform(nextStep(\.terminated, id)) {}
    }

    private func perform(_ step: Step, onCancelled: () -> Void) async throws {
        switch step {
        case .fail(let message): throw ScriptedError(message)
        case .failTransient: throw ScriptedTransientError()
        case .hang:
            await hangUntilCancelled()
            onCancelled()
            throw CancellationError()
        case .succeed, .terminal, .resync: return
        }
    }

    private func nextStep(_ keyPath: WritableKeyPath<Scripts, [ProcessID: [Step]]>, _ id: ProcessID) -> Step {
        scripts.withLock { scripts in
            guard var steps = scripts[keyPath: keyPath][id], !steps.isEmpty else { return .succeed }
            let step = steps.removeFirst()
            scripts[keyPath: keyPath][id] = steps
            return step
        }
    }

    private func hangUntilCancelled() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}

/// A syncer that does nothing, for benchmarks of the engine's own cost.
public struct NoopSyncer: ProcessSyncer {
    public typealias Config = TestConfig
    public init() {}
    public func syncProcess(_ id: ProcessID, config: TestConfig, updateType: UpdateType) async throws -> SyncOutcome { .running }
    public func syncTerminatingProcess(_ id: ProcessID, config: TestConfig, termination: TerminationContext) async throws {}
    public func syncTerminatedProcess(_ id: ProcessID, config: TestConfig) async throws {}
}
