/// What a managed process's config must tell the engine.
public protocol ProcessConfiguration: Sendable {
    /// The grace period used when a termination request does not name one.
    var terminationGracePeriod: Duration { get }
}

/// The result of one successful ``ProcessSyncer/syncProcess(_:config:updateType:)`` call.
public enum SyncOutcome: Sendable, Hashable {
    /// The process is as desired; resync after the engine's jittered resync interval.
    case running
    /// The process is as desired but wants to be looked at again after `after`
    /// (a restart backoff ending, a probe due). The engine schedules exactly that delay.
    case resync(after: Duration)
    /// The process reached an end it will not recover from (it exited and must not be restarted).
    /// The engine moves the worker to terminating at once.
    case terminal(reason: String)
}

/// What the terminating hook is asked to do.
public struct TerminationContext: Sendable, Hashable {
    /// The effective grace period of this termination. It only ever shrinks; when it does, the
    /// in-flight terminating call is cancelled and the hook is called again with the new value.
    public var gracePeriod: Duration
    /// The part of ``gracePeriod`` still left when this call began (measured from the moment
    /// termination was first requested). A hook that re-sends its stop signal on every call must
    /// force-stop after this much time, not after a fresh ``gracePeriod``.
    public var remaining: Duration

    public init(gracePeriod: Duration, remaining: Duration) {
        self.gracePeriod = gracePeriod
        self.remaining = remaining
    }
}

/// The hooks a ``ProcessManager`` calls to make the world match its workers.
///
/// Each hook runs on the worker of its process, never concurrently with another hook of the same
/// process; hooks of different processes run concurrently. Every hook runs in a task that is
/// cancelled when its work becomes moot (termination requested during a sync, grace period shrunk
/// during a terminating call, engine torn down): check `Task.isCancelled` or use cancellable waits.
///
/// Throwing an error that conforms to ``TransientSyncError`` asks for a quick retry; any other error
/// is retried with exponential backoff. The terminating and terminated hooks are retried until they
/// succeed.
public protocol ProcessSyncer: Sendable {
    associatedtype Config: ProcessConfiguration

    /// Make the process run with `config` (start it, apply a changed config, or check on it).
    func syncProcess(_ id: ProcessID, config: Config, updateType: UpdateType) async throws -> SyncOutcome

    /// Stop the process within `termination.remaining`; return only once it is stopped.
    func syncTerminatingProcess(_ id: ProcessID, config: Config, termination: TerminationContext) async throws

    /// Release what the stopped process held (ports, files, series). Called once the terminating
    /// hook has succeeded.
    func syncTerminatedProcess(_ id: ProcessID, config: Config) async throws
}

/// Marks an error as transient: the engine retries after the short retry interval instead of
/// backing off exponentially.
public protocol TransientSyncError: Error {}
