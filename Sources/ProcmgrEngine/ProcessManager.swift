public import Logging
public import ProcmgrMetrics
import ProcmgrSupport

/// ProcessManager keeps one worker per managed process and drives it through a one-way lifecycle,
/// calling a ``ProcessSyncer`` to make the world match. It is Kubernetes kubelet's pod workers
/// (`pkg/kubelet/pod_workers.go`) in Swift: a process is a pod, a hook call is a sync.
///
/// # States
///
/// Every worker moves through these states in this order and never back:
///
///     starting ──► running ──► terminating ──► terminated ──► finished ──► (purged)
///         └───────────────────────►┘
///
/// - **starting**: created by ``update(_:config:type:)``; the sync hook has not succeeded yet.
/// - **running**: a sync succeeded. The worker resyncs when woken by an update, by
///   ``requestSync(_:)`` or by the delay queue.
/// - **terminating**: termination was requested (``terminate(_:gracePeriod:reason:onTerminated:)``,
///   ``syncKnownProcesses(_:)`` for an orphan, ``shutdown(gracePeriod:deadline:)``) or a sync
///   returned ``SyncOutcome/terminal(reason:)``. The terminating hook is called, and called again
///   after errors, until it succeeds. No sync hook is ever called again for this worker.
/// - **terminated**: the terminating hook succeeded — the process is stopped. The terminated hook
///   (release ports, files, series) is retried until it succeeds.
/// - **finished**: every hook succeeded. The worker has no task any more; its record stays queryable
///   until it is purged by ``syncKnownProcesses(_:)`` (when no longer desired) or after
///   ``EngineConfiguration/finishedRetention``.
///
/// Irreversible: once terminating, a worker is never synced again; the effective grace period only
/// ever shrinks; a purged id is forgotten entirely — its series are removed and the same id can be
/// created again as a new worker (a new generation). An update that creates an id whose worker is
/// still terminating is remembered and applied once that worker finished.
///
/// # Updates: pending and active
///
/// ``update(_:config:type:)`` never blocks: under the lock it stores the config as the worker's
/// *pending* update (a later one overwrites it: latest wins) and rings the worker. When the worker
/// next runs, pending becomes *active* — the config handed to the syncer and the source of truth.
/// Updates arriving during a sync are collapsed into one: intermediate configs may be skipped, the
/// last one never is.
///
/// # Cancellation and grace periods
///
/// Hook calls run in the worker's activation task (see "Workers and their tasks"), so cancelling
/// that task cancels the call in flight. Requesting termination cancels an in-flight sync (its
/// result is discarded). A termination request with a shorter grace period than the current one
/// lowers it and cancels an in-flight terminating call, which is then re-run with
/// ``TerminationContext/remaining`` measured from the first request, so a shrink always makes the
/// stop *sooner*, never later. An update never cancels a sync; but a sync that ends in
/// `CancellationError` while an update is pending (the syncer let a wait go because of that
/// update) is moot like a cancelled one: no error is counted and the update runs at once.
///
/// # Ordered shutdown
///
/// ``shutdown(gracePeriod:deadline:order:)`` may name levels: each level is asked to terminate
/// only once the previous one is terminated (or the deadline passed), every level in parallel,
/// and each gets what is left of the grace period — so the whole shutdown still ends by the one
/// deadline. Ids not named stop in the first level.
///
/// # The delay queue
///
/// One min-heap holds at most one deadline per worker; a single driver task sleeps until the
/// earliest and wakes those due. After a hook call completes:
/// - a phase transition runs the next phase at once (no queue);
/// - a successful sync resyncs after ``EngineConfiguration/resyncInterval`` plus up to
///   ``EngineConfiguration/resyncJitter`` of it, or after the delay the syncer asked for;
/// - a ``TransientSyncError`` retries after ``EngineConfiguration/transientRetryInterval`` (jittered);
/// - any other error retries after ``EngineConfiguration/errorBackoff`` for the number of
///   consecutive failures (exponential, capped, jittered), reset by the next success;
/// - a finished worker's entry becomes its purge deadline.
///
/// # Workers and their tasks
///
/// A worker is its record; it has a task only while it has hook calls to make. Waking an idle
/// worker (an update, ``requestSync(_:)``, a termination request, the delay queue) starts an
/// *activation* task that makes calls one after the other until the state machine has none left,
/// then ends; waking a busy worker makes its activation look again before it ends, so no wake-up
/// is lost and many collapse into one. An idle worker thus costs no task, no continuation and no
/// wake-up primitive — with 10,000 processes that is most of their memory — and a whole
/// lifecycle takes two task starts instead of a worker task plus one task per hook call. A
/// cancelled activation (termination cancelled its sync) starts no further call, which would see
/// itself cancelled: it hands the worker to a fresh activation and ends.
///
/// # Who may call what
///
/// Every public method is safe from any task or thread and none blocks on a hook call: state lives
/// behind one lock that is held only for bookkeeping. ``run()`` must be running (once) for
/// workers to make progress; it runs the queue driver and returns only after every activation
/// task ended.
/// The syncer may call ``requestSync(_:)``, ``setHealthy(_:_:)`` and ``recordRestart(_:)`` from its
/// hooks or its own tasks; it must not await ``waitUntil(_:reaches:)`` for its own process from a hook.
///
/// # Timeline of one process (what each query answers)
///
///     update(create)   first sync ok    terminate(10s)   terminate(5s)   hook ok   hook ok   purge
///     │ starting       │ running        │ terminating                    │ term'd  │ finished │
///     ├────────────────┼────────────────┼────────────────┬───────────────┼─────────┼──────────┤
///     isTerminated     false            false            false           true      true      false (unknown)
///     isFinished       false            false            false           false     true      false (unknown)
///     grace            –                –                10s             5s        5s        –
///     terminating_since series          absent           present         present   removed   –
public final class ProcessManager<Syncer: ProcessSyncer, C: Clock>: Sendable where C.Duration == Duration {
    public typealias Config = Syncer.Config
    typealias Machine = WorkerStateMachine
    typealias Slot = WorkerSlot

    private let syncer: Syncer
    private let clock: C
    private let configuration: EngineConfiguration
    private let metrics: EngineMetrics
    private let logger: Logger
    private let state: LockedState<EngineState>
    /// Rung when the earliest deadline of the delay queue moved earlier, or at shutdown.
    private let queueWake = WakeSignal()
    /// Rung once a shutdown began and every worker finished: ``run()`` may return.
    private let drained = WakeSignal()
    /// The clock's instant that ``EngineTime`` zero stands for.
    private let origin: C.Instant
    /// Wall time at the origin, for timestamps shown to people.
    private let originUnixTime: Double
    /// Told of every state a worker enters (see ``observeStates(_:)``).
    private let stateObservers = LockedState<[@Sendable (StateTransition) -> Void]>([])

    public init(
        syncer: Syncer,
        clock: C,
        configuration: EngineConfiguration = EngineConfiguration(),
        registry: MetricsRegistry,
        logger: Logger = Logger(label: "procmgr.engine")
    ) throws(MetricsRegistryError) {
        self.syncer = syncer
        self.clock = clock
        self.configuration = configuration
        self.metrics = try EngineMetrics(registry: registry)
        self.logger = logger
        self.state = LockedState(EngineState())
        origin = clock.now
        originUnixTime = configuration.wallClock()
    }

    // MARK: Running

    /// Runs every worker and the delay queue until ``shutdown(gracePeriod:deadline:)`` completed and
    /// every worker has exited, or until the calling task is cancelled (which cancels in-flight
    /// hook calls: prefer shutdown). Returns only once no activation task is left. Call it exactly
    /// once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runDelayQueue() }
            let deferred = state.withLock { state -> [Activation] in
                state.started = true
                defer { state.deferred = [] }
                return state.deferred
            }
            startActivations(deferred)
            await withTaskCancellationHandler {
                await drained.wait()
            } onCancel: {
                stop()
            }
            await activationsEnded()
            group.cancelAll()
        }
    }

    /// Cancels every activation and lets no new one start (``run()`` was cancelled).
    private func stop() {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.stopped = true
            return state.slots.values.compactMap { slot in
                if case .active(_, let handle?) = slot.activation { return handle }
                return nil
            }
        }
        for task in tasks { task.cancel() }
    }

    /// Waits, not cancellably, until every activation task ended.
    private func activationsEnded() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { state -> Bool in
                guard state.liveActivations > 0 else { return true }
                state.activationsEnded = continuation
                return false
            }
            if ended { continuation.resume() }
        }
    }

    // MARK: Updates

    /// Declares the desired config of a process, creating its worker if it has none.
    ///
    /// Never blocks. A worker that is terminating ignores config updates; a `.create` for it is
    /// remembered and applied (as a new worker) once it finished. Refused after shutdown began.
    public func update(_ id: ProcessID, config: Config, type: UpdateType = .update) {
        let (outcome, actions) = state.withLock { state -> (UpdateOutcome, Actions) in
            var actions = Actions()
            guard !state.shuttingDown else { return (.refused, actions) }
            guard let slot = state.slots[id] else {
                wake(createWorker(id, config: config, in: &state), in: &state, actions: &actions)
                return (.created, actions)
            }
            if slot.machine.state == .finished, type == .create {
                purge(id, in: &state)
                wake(createWorker(id, config: config, in: &state), in: &state, actions: &actions)
                return (.created, actions)
            }
            guard slot.machine.receiveUpdate(config, type: type) else { return (.ignored, actions) }
            wake(slot, in: &state, actions: &actions)
            return (.updated, actions)
        }
        if outcome == .created { notifyObservers(StateTransition(process: id, from: nil, to: .starting)) }
        perform(actions)
        if outcome == .refused || (outcome == .ignored && isShuttingDown) {
            logger.warning("update refused: shutting down", metadata: ["process": "\(id)"])
        }
    }

    private enum UpdateOutcome {
        case created, updated, ignored, refused
    }

    /// Asks for a sync of a running process now (the runtime saw it exit, a probe failed).
    /// Ignored for unknown and terminating processes.
    public func requestSync(_ id: ProcessID) {
        let actions = state.withLock { state -> Actions in
            var actions = Actions()
            guard let slot = state.slots[id], slot.machine.requestSync() else { return actions }
            wake(slot, in: &state, actions: &actions)
            return actions
        }
        perform(actions)
    }

    /// Requests termination. The grace period defaults to the config's and can only shorten the
    /// current one. `onTerminated` is called exactly once: when the process is terminated, or at
    /// once if it is unknown or already terminated.
    /// - Returns: `false` when the id is unknown.
    @discardableResult
    public func terminate(
        _ id: ProcessID, gracePeriod: Duration? = nil, reason: String = "requested",
        onTerminated: (@Sendable () -> Void)? = nil
    ) -> Bool {
        let (known, actions) = state.withLock { state -> (Bool, Actions) in
            var actions = Actions()
            guard let slot = state.slots[id] else { return (false, actions) }
            if let onTerminated {
                if slot.machine.state >= .terminated {
                    actions.callbacks.append(onTerminated)
                } else {
                    slot.waiters.append(Waiter(token: state.nextToken(), target: .terminated, resumption: .callback(onTerminated)))
                }
            }
            requestTermination(slot, gracePeriod: gracePeriod, reason: reason, in: &state, actions: &actions)
            return (true, actions)
        }
        if !known { onTerminated?() }
        perform(actions)
        return known
    }

    /// Reconciles the workers against the desired set, as kubelet's `SyncKnownPods`: workers not
    /// desired are asked to terminate; finished workers not desired are purged. Returns the status
    /// of every worker still known afterwards.
    public func syncKnownProcesses(_ desired: some Sequence<ProcessID>) -> [ProcessID: ProcessStatus] {
        let desiredSet = Set(desired)
        let (statuses, actions) = state.withLock { state -> ([ProcessID: ProcessStatus], Actions) in
            var actions = Actions()
            for (id, slot) in state.slots where !desiredSet.contains(id) {
                if slot.machine.state == .finished {
                    purge(id, in: &state)
                } else {
                    requestTermination(slot, gracePeriod: nil, reason: "orphan", in: &state, actions: &actions)
                }
            }
            var statuses: [ProcessID: ProcessStatus] = [:]
            statuses.reserveCapacity(state.slots.count)
            for (id, slot) in state.slots { statuses[id] = status(of: slot, queue: state.queue) }
            return (statuses, actions)
        }
        perform(actions)
        return statuses
    }

    /// Terminates every process and waits until all are terminated or `deadline` passed. New
    /// updates are refused from now on; ``run()`` returns once every worker exited.
    ///
    /// Without `order` every process stops in parallel. With it, `order[0]` (plus every id not
    /// named anywhere) stops first, in parallel; `order[1]` is asked to stop once all of those
    /// are terminated, and so on. A later level's grace period is what is left of `gracePeriod`
    /// when it begins, so the levels together stay within it and within `deadline`.
    public func shutdown(gracePeriod: Duration? = nil, deadline: Duration, order: [[ProcessID]] = []) async -> ShutdownReport {
        let begin = clock.now
        let (ids, first) = state.withLock { state -> ([ProcessID], [ProcessID]) in
            state.shuttingDown = true
            let ids = state.slots.keys.sorted()
            let later = Set(order.dropFirst().joined())
            return (ids, ids.filter { !later.contains($0) })
        }
        let known = Set(ids)
        let levels = [first] + order.dropFirst().map { level in level.filter { known.contains($0) } }
        for level in levels where !level.isEmpty {
            let elapsed = begin.duration(to: clock.now)
            let grace = gracePeriod.map { max(.zero, $0 - elapsed) }
            let actions = state.withLock { state -> Actions in
                var actions = Actions()
                for id in level {
                    guard let slot = state.slots[id] else { continue }
                    requestTermination(slot, gracePeriod: grace, reason: "shutdown", in: &state, actions: &actions)
                }
                return actions
            }
            perform(actions)
            finishIfDrained()
            await waitUntilTerminated(level, for: max(.zero, deadline - elapsed))
        }
        var report = ShutdownReport(terminated: [], stragglers: [])
        state.withLock { state in
            for id in ids {
                let reached = state.slots[id].map { $0.machine.state >= .terminated } ?? true
                if reached { report.terminated.append(id) } else { report.stragglers.append(id) }
            }
        }
        if !report.stragglers.isEmpty {
            logger.error("shutdown deadline passed", metadata: ["stragglers": "\(report.stragglers)"])
        }
        return report
    }

    /// Waits until every id is terminated (or unknown), at most `timeout`.
    private func waitUntilTerminated(_ ids: [ProcessID], for timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.clock.sleep(for: timeout, tolerance: nil) }
            group.addTask {
                await withTaskGroup(of: Void.self) { waits in
                    for id in ids { waits.addTask { _ = await self.waitUntil(id, reaches: .terminated) } }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Calls `observer` with every state a worker enters from now on (`starting` when created,
    /// `running` after its first successful sync, `terminating`, …), outside the engine's lock
    /// and after the state is queryable. Observers add up (never removed: each lives as long as
    /// the engine). The agent's dependency coordinator uses it (a `running` dependency is one whose
    /// worker entered `running`), and so does its event stream.
    public func observeStates(_ observer: @escaping @Sendable (StateTransition) -> Void) {
        stateObservers.withLock { $0.append(observer) }
    }

    private func notifyObservers(_ transition: StateTransition) {
        for observer in stateObservers.withLock({ $0 }) { observer(transition) }
    }

    // MARK: Reports from the syncer

    /// Records the syncer's view of the process's health (probe results).
    public func setHealthy(_ id: ProcessID, _ healthy: Bool) {
        state.withLock { $0.slots[id]?.machine.reportedHealthy = healthy }
    }

    /// Counts a restart of the process in its status.
    /// - Returns: the restarts counted so far (nil for an unknown id).
    @discardableResult
    public func recordRestart(_ id: ProcessID) -> Int? {
        state.withLock { state in
            state.slots[id]?.machine.noteRestart()
            return state.slots[id]?.machine.restartCount
        }
    }

    // MARK: Queries

    public func status(of id: ProcessID) -> ProcessStatus? {
        state.withLock { state in state.slots[id].map { status(of: $0, queue: state.queue) } }
    }

    /// Every known worker, sorted by id.
    public func statuses() -> [ProcessStatus] {
        state.withLock { state in
            state.slots.values.map { status(of: $0, queue: state.queue) }
        }.sorted { $0.id < $1.id }
    }

    /// The config most recently desired for the process.
    public func config(of id: ProcessID) -> Config? {
        state.withLock { $0.slots[id].map { Self.unerase($0.machine.latestConfig) } }
    }

    /// True once the terminating hook succeeded (the process is stopped), until purged.
    public func isTerminated(_ id: ProcessID) -> Bool {
        state.withLock { ($0.slots[id]?.machine.state ?? .starting) >= .terminated }
    }

    /// True once every hook succeeded, until purged.
    public func isFinished(_ id: ProcessID) -> Bool {
        state.withLock { $0.slots[id]?.machine.state == .finished }
    }

    /// Workers known (including finished ones not yet purged).
    public var workerCount: Int { state.withLock { $0.slots.count } }

    /// Counts across all workers.
    public func health() -> HealthSummary {
        let all = statuses()
        var byState = Dictionary(uniqueKeysWithValues: ProcessState.allCases.map { ($0, 0) })
        for status in all { byState[status.state, default: 0] += 1 }
        return HealthSummary(
            total: all.count, byState: byState,
            healthy: all.count { $0.healthy }, failing: all.count { $0.consecutiveFailures > 0 },
            processes: all)
    }

    /// Waits until the process reached `target` (or any later state) and returns its state then;
    /// `nil` if it is unknown or was purged. Returns early, with the current state, if the task is
    /// cancelled.
    public func waitUntil(_ id: ProcessID, reaches target: ProcessState) async -> ProcessState? {
        let token = state.withLock { $0.nextToken() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { state -> Bool in
                    guard let slot = state.slots[id], slot.machine.state < target, !Task.isCancelled else { return false }
                    slot.waiters.append(Waiter(token: token, target: target, resumption: .continuation(continuation)))
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let slot = state.slots[id], let index = slot.waiters.firstIndex(where: { $0.token == token }) else { return nil }
                return slot.waiters.remove(at: index)
            }
            waiter?.resumption.resume()
        }
        return state.withLock { $0.slots[id]?.machine.state }
    }

    private var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    // MARK: Workers

    /// One activation of a worker: runs hook calls, one after the other, until the worker has
    /// nothing to do; the worker is then idle and has no task at all until it is woken again.
    ///
    /// A worker's hook calls run in its activation task, so cancelling that task cancels the call
    /// in flight. A cancelled activation never starts another call (the call would see itself
    /// cancelled): it ends and hands the worker to a fresh activation.
    private func runActivation(_ activation: Activation) async {
        var (call, actions) = state.withLock { state -> (HookCall?, Actions) in
            var actions = Actions()
            guard let slot = activeSlot(activation, in: state) else {
                endActivation(nil, in: &state, actions: &actions)
                return (nil, actions)
            }
            return (nextCall(slot, in: &state, actions: &actions), actions)
        }
        perform(actions)
        while let current = call {
            let begin = clock.now
            let result = await callHook(current, id: activation.id)
            metrics.syncDurationByOperation[current.operation.metricIndex].observe(begin.duration(to: clock.now))
            (call, actions) = completeWork(activation, result: result, cancelled: Task.isCancelled)
            perform(actions)
        }
    }

    /// A hook call picked under the lock, its config already the syncer's type.
    private enum HookCall {
        case sync(Config, UpdateType)
        case terminating(Config, TerminationContext)
        case terminated(Config)

        var operation: Machine.Operation {
            switch self {
            case .sync: .sync
            case .terminating: .terminating
            case .terminated: .terminated
            }
        }
    }

    private enum HookResult: Sendable {
        case sync(Result<SyncOutcome, any Error>)
        case other(Result<Void, any Error>)
    }

    private func callHook(_ call: HookCall, id: ProcessID) async -> HookResult {
        let syncer = self.syncer
        switch call {
        case .sync(let config, let type):
            return .sync(await Result(catchingAsync: { try await syncer.syncProcess(id, config: config, updateType: type) }))
        case .terminating(let config, let termination):
            return .other(await Result(catchingAsync: { try await syncer.syncTerminatingProcess(id, config: config, termination: termination) }))
        case .terminated(let config):
            return .other(await Result(catchingAsync: { try await syncer.syncTerminatedProcess(id, config: config) }))
        }
    }

    /// Applies a hook call's result and, in the same critical section, picks the next call.
    private func completeWork(_ activation: Activation, result: HookResult, cancelled: Bool) -> (HookCall?, Actions) {
        state.withLock { state -> (HookCall?, Actions) in
            var actions = Actions()
            let id = activation.id
            guard let slot = activeSlot(activation, in: state) else {
                endActivation(nil, in: &state, actions: &actions)
                return (nil, actions)
            }
            slot.cancelRequested = false
            let now = engineNow()
            let previous = slot.machine.state
            let completion: Machine.Completion
            let operation = slot.machine.inFlight?.operation
            switch (operation, result) {
            case (.sync?, .sync(let outcome)):
                completion = slot.machine.completeSync(outcome, now: now)
            case (.terminating?, .other(let outcome)):
                completion = slot.machine.completeTerminating(outcome, now: now)
            case (.terminated?, .other(let outcome)):
                completion = slot.machine.completeTerminated(outcome, now: now)
            default:
                // invariant: the engine pairs each hook result with the call it started itself.
                preconditionFailure("hook result does not match the call in flight")
            }
            if let entered = completion.entered {
                noteEntered(entered, from: previous, slot: slot, actions: &actions)
            }
            if let duration = completion.startDuration { metrics.startDuration.observe(duration) }
            if let duration = completion.terminationDuration { metrics.terminationDuration.observe(duration) }
            if let error = completion.error, let operation {
                slot.errorOperations.insert(operation.metricIndex)
                metrics.recordError(process: id, operation: operation.metricIndex)
                logger.warning("hook failed", metadata: ["process": "\(id)", "operation": "\(operation)", "error": "\(error)"])
            }
            var runAgain = false
            switch completion.next {
            case .immediately:
                unschedule(id, in: &state)
                runAgain = true
            case .resync:
                let interval = configuration.resyncInterval
                schedule(slot, after: interval + interval * (configuration.resyncJitter * configuration.random()), in: &state, actions: &actions)
            case .after(let delay):
                schedule(slot, after: delay, in: &state, actions: &actions)
            case .retry(let failures, let transient):
                let delay = transient
                    ? configuration.transientRetryInterval * (1 + configuration.resyncJitter * configuration.random())
                    : configuration.errorBackoff.delay(afterFailures: failures, random: configuration.random())
                schedule(slot, after: delay, in: &state, actions: &actions)
                metrics.queueRetries.increment()
                metrics.queueBackoff.observe(delay)
            case .exit:
                endActivation(slot, in: &state, actions: &actions)
                if let recreate = slot.machine.recreateRequest {
                    purge(id, in: &state)
                    let created = StateTransition(process: id, from: nil, to: .starting)
                    actions.callbacks.append { [weak self] in self?.notifyObservers(created) }
                    wake(createWorker(id, config: Self.unerase(recreate), in: &state), in: &state, actions: &actions)
                } else {
                    schedule(slot, after: configuration.finishedRetention, payload: .purge(generation: slot.generation), in: &state, actions: &actions)
                }
                workerFinished(in: &state, actions: &actions)
                return (nil, actions)
            }
            guard runAgain || slot.rung, !state.stopped else {
                endActivation(slot, in: &state, actions: &actions)
                return (nil, actions)
            }
            if cancelled {
                endActivation(slot, in: &state, actions: &actions)
                wake(slot, in: &state, actions: &actions)
                return (nil, actions)
            }
            return (nextCall(slot, in: &state, actions: &actions), actions)
        }
    }

    /// The worker's next hook call; without one its activation ends (the worker goes idle).
    private func nextCall(_ slot: Slot, in state: inout EngineState, actions: inout Actions) -> HookCall? {
        slot.rung = false
        switch slot.machine.beginWork(now: engineNow()) {
        case .sync(let config, let type)?:
            return .sync(Self.unerase(config), type)
        case .terminating(let config, let termination)?:
            return .terminating(Self.unerase(config), termination)
        case .terminated(let config)?:
            return .terminated(Self.unerase(config))
        case .exit?, nil:
            endActivation(slot, in: &state, actions: &actions)
            return nil
        }
    }

    /// The worker's slot if `activation` is still its current activation.
    private func activeSlot(_ activation: Activation, in state: EngineState) -> Slot? {
        guard let slot = state.slots[activation.id], case .active(let epoch, _) = slot.activation, epoch == activation.epoch else {
            return nil
        }
        return slot
    }

    /// Wakes a worker: an idle one gets an activation task; a busy one looks for work again before
    /// its activation ends. After ``run()`` was cancelled nothing starts.
    private func wake(_ slot: Slot, in state: inout EngineState, actions: inout Actions) {
        guard case .idle = slot.activation, !state.stopped else {
            slot.rung = true
            return
        }
        state.nextActivation += 1
        let activation = Activation(id: slot.machine.id, epoch: state.nextActivation)
        slot.activation = .active(epoch: activation.epoch, handle: nil)
        state.liveActivations += 1
        if state.started {
            actions.activations.append(activation)
        } else {
            state.deferred.append(activation)
        }
    }

    /// An activation task is about to end (`slot` is nil for a stale one, whose worker moved on).
    private func endActivation(_ slot: Slot?, in state: inout EngineState, actions: inout Actions) {
        slot?.activation = .idle
        state.liveActivations -= 1
        if state.liveActivations == 0, let waiter = state.activationsEnded {
            state.activationsEnded = nil
            actions.resumptions.append(.continuation(waiter))
        }
    }

    private func workerFinished(in state: inout EngineState, actions: inout Actions) {
        state.liveWorkers -= 1
        if state.shuttingDown, state.liveWorkers == 0 { actions.wakes.append(drained) }
    }

    /// Ends ``run()`` once shutdown began and every worker finished.
    private func finishIfDrained() {
        if state.withLock({ $0.shuttingDown && $0.liveWorkers == 0 }) { drained.ring() }
    }

    /// Performs what was decided under the lock, then starts the activations it asked for.
    private func perform(_ actions: Actions) {
        actions.perform()
        startActivations(actions.activations)
    }

    /// Starts activation tasks, then registers their handles so a termination can cancel their
    /// call. A cancellation asked for before registration left `cancelRequested`, which
    /// registration honours; `completeWork` clears it, so it never outlives the call it was for.
    private func startActivations(_ activations: [Activation]) {
        guard !activations.isEmpty else { return }
        let tasks = activations.map { activation in
            Task.detached { await self.runActivation(activation) }
        }
        let cancels = state.withLock { state -> [Task<Void, Never>] in
            var cancels: [Task<Void, Never>] = []
            for (activation, task) in zip(activations, tasks) {
                guard let slot = activeSlot(activation, in: state) else { continue }
                slot.activation = .active(epoch: activation.epoch, handle: task)
                if state.stopped || slot.cancelRequested {
                    slot.cancelRequested = false
                    cancels.append(task)
                }
            }
            return cancels
        }
        for task in cancels { task.cancel() }
    }

    // MARK: Delay queue

    private func runDelayQueue() async {
        while !Task.isCancelled {
            let (actions, next) = state.withLock { state -> (Actions, EngineTime?) in
                var actions = Actions()
                for entry in state.queue.popDue(now: engineNow()) {
                    guard let slot = state.slots[entry.key] else { continue }
                    switch entry.payload {
                    case .wake(let generation) where generation == slot.generation:
                        if slot.machine.state < .terminating { _ = slot.machine.requestSync() }
                        wake(slot, in: &state, actions: &actions)
                    case .purge(let generation) where generation == slot.generation && slot.machine.state == .finished:
                        purge(entry.key, in: &state)
                    default:
                        break
                    }
                }
                metrics.queueDepth.set(Double(state.queue.count))
                return (actions, state.queue.nextDeadline)
            }
            perform(actions)
            await sleepUntil(next)
        }
    }

    /// Sleeps until `deadline` (forever if `nil`) or until the queue is rung, whichever is first.
    private func sleepUntil(_ deadline: EngineTime?) async {
        guard let deadline else {
            await queueWake.wait()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.clock.sleep(until: self.origin.advanced(by: deadline), tolerance: nil) }
            group.addTask { await self.queueWake.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: Bookkeeping under the lock

    /// Creates a worker's record; the caller wakes it.
    private func createWorker(_ id: ProcessID, config: Config, in state: inout EngineState) -> Slot {
        state.nextGeneration += 1
        let slot = WorkerSlot(machine: Machine(id: id, config: config, now: engineNow()), generation: state.nextGeneration)
        state.slots[id] = slot
        state.liveWorkers += 1
        metrics.entered(.starting, process: id, from: nil)
        return slot
    }

    private func requestTermination(
        _ slot: Slot, gracePeriod: Duration?, reason: String,
        in state: inout EngineState, actions: inout Actions
    ) {
        let id = slot.machine.id
        let previous = slot.machine.state
        let decision = slot.machine.requestTermination(gracePeriod: gracePeriod, reason: reason, now: engineNow())
        if decision.began {
            noteEntered(.terminating, from: previous, slot: slot, actions: &actions)
            logger.info("terminating", metadata: ["process": "\(id)", "reason": "\(reason)", "grace_period": "\(slot.machine.gracePeriod ?? .zero)"])
        } else if decision.shortenedGrace, let grace = slot.machine.gracePeriod {
            metrics.shortenedGrace(process: id, to: grace)
        }
        if decision.cancelInFlight {
            if case .active(_, let handle?) = slot.activation { actions.cancels.append(handle) } else { slot.cancelRequested = true }
        }
        if decision.wake {
            unschedule(id, in: &state)
            wake(slot, in: &state, actions: &actions)
        }
    }

    /// Metrics, logs and waiters for a state just entered.
    private func noteEntered(_ entered: ProcessState, from previous: ProcessState, slot: Slot, actions: inout Actions) {
        let id = slot.machine.id
        metrics.entered(entered, process: id, from: previous)
        switch entered {
        case .terminating:
            let machine = slot.machine
            if let terminatingAt = machine.terminatingAt {
                metrics.beganTermination(process: id, unixTime: unixTime(of: terminatingAt), gracePeriod: machine.gracePeriod ?? .zero)
            }
        case .terminated:
            metrics.endedTermination(process: id)
        default:
            break
        }
        logger.debug("entered state", metadata: ["process": "\(id)", "state": "\(entered)"])
        let observers = stateObservers.withLock { $0 }
        if !observers.isEmpty {
            let transition = StateTransition(
                process: id, from: previous, to: entered, reason: entered >= .terminating ? slot.machine.terminationReason : nil)
            actions.callbacks.append { for observer in observers { observer(transition) } }
        }
        guard !slot.waiters.isEmpty else { return }
        var kept: [Waiter] = []
        for waiter in slot.waiters {
            if waiter.target <= entered { actions.resumptions.append(waiter.resumption) } else { kept.append(waiter) }
        }
        slot.waiters = kept
    }

    private func schedule(
        _ slot: Slot, after delay: Duration, payload: QueuedAction? = nil,
        in state: inout EngineState, actions: inout Actions
    ) {
        let action = payload ?? .wake(generation: slot.generation)
        if state.queue.schedule(slot.machine.id, at: engineNow() + delay, payload: action) {
            actions.wakes.append(queueWake)
        }
        metrics.queueAdds.increment()
        metrics.queueDepth.set(Double(state.queue.count))
    }

    private func unschedule(_ id: ProcessID, in state: inout EngineState) {
        if state.queue.remove(id) != nil { metrics.queueDepth.set(Double(state.queue.count)) }
    }

    /// Forgets a worker entirely: record, queue entry and every per-process series.
    private func purge(_ id: ProcessID, in state: inout EngineState) {
        guard let slot = state.slots.removeValue(forKey: id) else { return }
        unschedule(id, in: &state)
        metrics.purge(process: id, finalState: slot.machine.state, statesEntered: slot.machine.statesEntered, errorOperations: slot.errorOperations)
        for waiter in slot.waiters { waiter.resumption.resume() }
        logger.debug("purged", metadata: ["process": "\(id)"])
    }

    private func status(of slot: Slot, queue: DelayQueue<ProcessID, EngineTime, QueuedAction>) -> ProcessStatus {
        let machine = slot.machine
        return ProcessStatus(
            id: machine.id,
            state: machine.state,
            healthy: machine.isHealthy,
            createdAt: unixTime(of: machine.createdAt),
            startedAt: machine.startedAt.map(unixTime(of:)),
            terminatingAt: machine.terminatingAt.map(unixTime(of:)),
            terminatedAt: machine.terminatedAt.map(unixTime(of:)),
            finishedAt: machine.finishedAt.map(unixTime(of:)),
            lastSyncAt: machine.lastSyncAt.map(unixTime(of:)),
            nextSyncAt: queue.deadline(of: machine.id).map(unixTime(of:)),
            gracePeriod: machine.gracePeriod,
            terminationReason: machine.terminationReason,
            errorCount: machine.errorCount,
            consecutiveFailures: machine.consecutiveFailures,
            lastError: machine.lastError,
            restartCount: machine.restartCount)
    }

    private func unixTime(of time: EngineTime) -> Double {
        originUnixTime + time.seconds
    }

    /// Now, as engine time.
    private func engineNow() -> EngineTime {
        origin.duration(to: clock.now)
    }
}

extension ProcessManager {
    /// Recovers the syncer's config type. Every config a machine holds came through ``update``,
    /// which only accepts `Config`, so the cast cannot fail.
    static func unerase(_ config: any ProcessConfiguration) -> Config {
        guard let config = config as? Config else {
            // invariant: `update` is the only way in and accepts only `Config`.
            preconditionFailure("a worker holds a config of another type")
        }
        return config
    }
}

extension ProcessManager where C == ContinuousClock {
    /// A manager on the real monotonic clock.
    public convenience init(
        syncer: Syncer,
        configuration: EngineConfiguration = EngineConfiguration(),
        registry: MetricsRegistry,
        logger: Logger = Logger(label: "procmgr.engine")
    ) throws(MetricsRegistryError) {
        try self.init(syncer: syncer, clock: ContinuousClock(), configuration: configuration, registry: registry, logger: logger)
    }
}

extension WorkerStateMachine.Operation {
    var metricIndex: Int {
        switch self {
        case .sync: 0
        case .terminating: 1
        case .terminated: 2
        }
    }
}
