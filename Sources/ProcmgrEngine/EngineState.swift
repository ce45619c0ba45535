/// Everything the ``ProcessManager`` guards with its one lock.
struct EngineState: Sendable {
    var slots: [ProcessID: WorkerSlot] = [:]
    var queue = DelayQueue<ProcessID, EngineTime, QueuedAction>()
    /// Distinguishes a re-created id from its purged predecessor, so stale queue entries and
    /// worker tasks of the old one can never act on the new one.
    var nextGeneration: UInt64 = 0
    var nextWaiterToken: UInt64 = 0
    /// Worker tasks created and not yet exited.
    var liveWorkers = 0
    var shuttingDown = false

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
    let wake: WakeSignal
    /// Cancels the hook call in flight, once its task is registered.
    var cancelInFlight: (@Sendable () -> Void)?
    /// A cancellation asked for after the call was picked but before its task was registered.
    var cancelRequested = false
    var waiters: [Waiter] = []
    /// Which engine error series exist for this worker, so a purge removes exactly those.
    var errorOperations = ErrorOperations()

    init(machine: WorkerStateMachine, generation: UInt64, wake: WakeSignal) {
        self.machine = machine
        self.generation = generation
        self.wake = wake
    }
}

/// What a worker task needs to find its record: the id and the generation it was created for.
struct WorkerTicket: Sendable {
    let id: ProcessID
    let generation: UInt64
    let wake: WakeSignal
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
    var cancels: [@Sendable () -> Void] = []
    var resumptions: [Waiter.Resumption] = []
    var callbacks: [@Sendable () -> Void] = []

    func perform() {
        for cancel in cancels { cancel() }
        for resumption in resumptions { resumption.resume() }
        for callback in callbacks { callback() }
        for wake in wakes { wake.ring() }
    }
}
