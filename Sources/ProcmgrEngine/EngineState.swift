/// Everything the ``ProcessManager`` guards with its one lock.
struct EngineState: Sendable {
    var slots: [ProcessID: WorkerSlot] = [:]
    var queue = DelayQueue<ProcessID, EngineTime, QueuedAction>()
    /// Distinguishes a re-created id from its purged predecessor, so stale queue entries and
    /// worker tasks of the old one can never act on the new one.
    var nextGeneration: UInt64 = 0
    var nextWaiterToken: UInt64 = 0
    /// Workers created and not yet finished (what a shutdown drains).
    var liveWorkers = 0
    var shuttingDown = false
    /// Numbers activations, so a late registration or a stale task can tell it is not the current one.
    var nextActivation: UInt64 = 0
    /// Activation tasks decided on and not yet ended (including `deferred` ones).
    var liveActivations = 0
    /// `run()` began: activations start at once rather than waiting in `deferred`.
    var started = false
    /// `run()` was cancelled: no activation starts any more, running ones are cancelled.
    var stopped = false
    /// Activations decided before `run()` began; it starts them.
    var deferred: [Activation] = []
    /// `run()` waiting for the last activation to end.
    var activationsEnded: CheckedContinuation<Void, Never>?

    mutating func nextToken() -> UInt64 {
        nextWaiterToken += 1
        return nextWaiterToken
    }
}

/// One worker's record: its state machine plus what the manager needs to act on it.
///
/// A class so that one dictionary lookup yields a handle the manager mutates in place; it is only
/// ever read or written while the manager's lock is held, which is what makes it Sendable.
final class WorkerSlot: @unchecked Sendable {
    var machine: WorkerStateMachine
    let generation: UInt64
    /// Whether a task is running this worker's hook calls (see ``ProcessManager``, "Workers").
    var activation = ActivationState.idle
    /// Woken while its activation was busy: the activation looks for work again before it ends,
    /// so no wake-up is lost (and many collapse into one).
    var rung = false
    /// A cancellation of the call in flight asked for before its activation's task was registered.
    var cancelRequested = false
    var waiters: [Waiter] = []
    /// Which engine error series exist for this worker, so a purge removes exactly those.
    var errorOperations = ErrorOperations()

    init(machine: WorkerStateMachine, generation: UInt64) {
        self.machine = machine
        self.generation = generation
    }
}

/// Whether a worker has a task running its hook calls.
enum ActivationState {
    case idle
    /// `handle` is set once the task is registered; it cancels the hook call in flight.
    case active(epoch: UInt64, handle: Task<Void, Never>?)
}

/// What an activation task needs to find its worker: the id and its own number, which the worker's
/// ``ActivationState`` must still carry for the task to act.
struct Activation: Sendable {
    let id: ProcessID
    let epoch: UInt64
}

/// What a delay-queue entry does when due.
enum QueuedAction: Sendable {
    /// Resync (running) or retry (after an error) the worker of that generation.
    case wake(generation: UInt64)
    /// Purge the finished worker of that generation.
    case purge(generation: UInt64)
}

/// Someone waiting for a worker to reach a state.
struct Waiter: Sendable {
    enum Resumption: Sendable {
        case continuation(CheckedContinuation<Void, Never>)
        case callback(@Sendable () -> Void)

        func resume() {
            switch self {
            case .continuation(let continuation): continuation.resume()
            case .callback(let callback): callback()
            }
        }
    }

    let token: UInt64
    let target: ProcessState
    let resumption: Resumption
}

/// Side effects decided under the lock and performed after it is released, so no callback,
/// continuation or cancellation handler ever runs while the engine's lock is held.
struct Actions {
    var wakes: [WakeSignal] = []
    var cancels: [Task<Void, Never>] = []
    var resumptions: [Waiter.Resumption] = []
    var callbacks: [@Sendable () -> Void] = []
    /// Activation tasks to start (the manager starts them: it is their body).
    var activations: [Activation] = []

    func perform() {
        for task in cancels { task.cancel() }
        for resumption in resumptions { resumption.resume() }
        for callback in callbacks { callback() }
        for wake in wakes { wake.ring() }
    }
}
