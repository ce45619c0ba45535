/// The lifecycle of one worker as a value type: events in, decisions out, no I/O.
///
/// State is derived from timestamps, as in kubelet's `podSyncStatus`: a worker is terminating once
/// `terminatingAt` is set, terminated once `terminatedAt` is set, and so on. Timestamps are only
/// ever set, never cleared, which is what makes every transition one-way.
///
/// The ``ProcessManager`` owns one machine per process, mutates it only under its lock, and
/// performs what the returned decisions ask (cancel the in-flight call, wake the worker, schedule a
/// retry, record metrics). Tests drive the machine synchronously.
///
/// The machine is deliberately not generic: times are ``EngineTime`` (a `Duration` since the
/// engine's origin) and configs are existentials. The manager is generic over the syncer and the
/// clock and, living in another module than its users, runs unspecialized; a generic machine made
/// every field access and `Optional` check there a runtime-metadata call, which cost a third of the
/// engine's time under churn.
struct WorkerStateMachine: Sendable {
    typealias Config = any ProcessConfiguration
    typealias Instant = EngineTime

    /// The kind of hook call in flight.
    enum Operation: Sendable, Hashable {
        case sync
        case terminating
        case terminated
    }

    /// What the worker should run next.
    enum Work: Sendable {
        case sync(Config, UpdateType)
        case terminating(Config, TerminationContext)
        case terminated(Config)
        /// The worker reached finished: its task ends.
        case exit
    }

    /// What the worker does after a hook call completed.
    enum NextStep: Sendable, Hashable {
        /// Run the next work at once (a phase transition, or a cancelled call to redo).
        case immediately
        /// Resync after the engine's jittered resync interval.
        case resync
        /// Resync after exactly this delay (asked for by the syncer).
        case after(Duration)
        /// Retry after an error; `transient` picks the short retry over exponential backoff.
        case retry(consecutiveFailures: Int, transient: Bool)
        /// Finished: the worker exits.
        case exit
    }

    /// An update not yet handed to the syncer.
    struct PendingUpdate: Sendable {
        var config: Config
        var type: UpdateType
    }

    /// The hook call in flight and, for terminating calls, the grace period it was given.
    struct InFlightCall: Sendable, Hashable {
        var operation: Operation
        var gracePeriod: Duration?
    }

    /// The effects of completing a hook call, for the manager to apply.
    struct Completion: Sendable {
        var next: NextStep
        /// The state entered because of this completion, if any.
        var entered: ProcessState?
        /// Create → first successful sync, when this completion was that sync.
        var startDuration: Duration?
        /// Termination requested → terminated, when this completion terminated the worker.
        var terminationDuration: Duration?
        /// The error to count, if the call failed for a reason other than being made moot.
        var error: (any Error)?
    }

    /// The effects of a termination request.
    struct TerminationDecision: Sendable, Hashable {
        /// The request moved the worker into terminating.
        var began = false
        /// The request shortened the effective grace period.
        var shortenedGrace = false
        /// The in-flight hook call is moot and must be cancelled.
        var cancelInFlight = false
        /// The worker must be woken to act on the request.
        var wake = false
    }

    let id: ProcessID
    let createdAt: Instant
    private(set) var startedAt: Instant?
    private(set) var terminatingAt: Instant?
    private(set) var terminatedAt: Instant?
    private(set) var finishedAt: Instant?
    private(set) var lastSyncAt: Instant?

    /// The latest update not yet handed to the syncer; later updates overwrite it (latest wins).
    private(set) var pending: PendingUpdate?
    /// The config most recently handed to the syncer: the source of truth once work began.
    private(set) var active: Config?
    private var resyncRequested = false
    private(set) var inFlight: InFlightCall?

    /// The effective grace period; set when termination begins and only ever lowered.
    private(set) var gracePeriod: Duration?
    private(set) var terminationReason: String?
    /// A config that asked to create this id again while it was shutting down; honoured once the
    /// worker finished (it is purged and created anew).
    private(set) var recreateRequest: Config?

    private(set) var consecutiveFailures = 0
    private(set) var errorCount = 0
    private(set) var lastError: String?
    private(set) var restartCount = 0
    /// Health as reported by the syncer (probes); `nil` until it reports.
    var reportedHealthy: Bool?

    init(id: ProcessID, config: Config, now: Instant) {
        self.id = id
        self.createdAt = now
        self.pending = PendingUpdate(config: config, type: .create)
    }

    var state: ProcessState {
        if finishedAt != nil { return .finished }
        if terminatedAt != nil { return .terminated }
        if terminatingAt != nil { return .terminating }
        if startedAt != nil { return .running }
        return .starting
    }

    /// Healthy means running, the last sync succeeded and the syncer does not say otherwise.
    var isHealthy: Bool {
        state == .running && consecutiveFailures == 0 && (reportedHealthy ?? true)
    }

    /// Every state this worker has entered, in order (running is skipped when termination came
    /// before the first successful sync).
    var statesEntered: [ProcessState] {
        var states: [ProcessState] = [.starting]
        if startedAt != nil { states.append(.running) }
        if terminatingAt != nil { states.append(.terminating) }
        if terminatedAt != nil { states.append(.terminated) }
        if finishedAt != nil { states.append(.finished) }
        return states
    }

    /// The newest config known for this worker.
    var latestConfig: Config {
        // A worker always has one of the two: it is created with a pending config, and a pending
        // config only moves to `active`.
        if let pending { return pending.config }
        if let active { return active }
        // invariant: a worker is created with a pending config (never from input).
        preconditionFailure("a worker has neither a pending nor an active config")
    }

    // MARK: Events

    /// A new desired config. Returns whether the worker must be woken.
    mutating func receiveUpdate(_ config: Config, type: UpdateType) -> Bool {
        guard terminatingAt == nil else {
            if type == .create { recreateRequest = config }
            return false
        }
        // Until a sync succeeded the process was never created: whatever came after, it is a create.
        let effectiveType: UpdateType = (startedAt == nil) ? .create : type
        pending = PendingUpdate(config: config, type: effectiveType)
        return true
    }

    /// A resync requested from outside (the runtime saw the process exit). Returns whether the
    /// worker must be woken. Ignored once terminating: termination retries keep their backoff.
    mutating func requestSync() -> Bool {
        guard terminatingAt == nil else { return false }
        resyncRequested = true
        return true
    }

    /// A request to terminate, with an optional grace period that can only shorten the current one.
    mutating func requestTermination(gracePeriod requested: Duration?, reason: String, now: Instant) -> TerminationDecision {
        var decision = TerminationDecision()
        switch state {
        case .terminated, .finished:
            return decision
        case .terminating:
            guard let requested, let current = gracePeriod, requested < current else { return decision }
            gracePeriod = requested
            decision.shortenedGrace = true
            if let inFlight, inFlight.operation == .terminating, let used = inFlight.gracePeriod, requested < used {
                decision.cancelInFlight = true
            }
            decision.wake = inFlight == nil
            return decision
        case .starting, .running:
            let configured = latestConfig.terminationGracePeriod
            gracePeriod = requested.map { min($0, configured) } ?? configured
            terminatingAt = now
            terminationReason = reason
            decision.began = true
            decision.cancelInFlight = inFlight != nil
            decision.wake = true
            return decision
        }
    }

    /// The syncer restarted the process (counted for status; the reason is the runtime's metric).
    mutating func noteRestart() {
        restartCount += 1
    }

    // MARK: Work

    /// Picks the next hook call, or `nil` when there is nothing to do until the next wake.
    mutating func beginWork(now: Instant) -> Work? {
        // invariant: the engine starts a hook call only after the previous one completed.
        precondition(inFlight == nil, "one hook call at a time per worker")
        switch state {
        case .finished:
            return .exit
        case .terminated:
            inFlight = InFlightCall(operation: .terminated)
            return .terminated(latestConfig)
        case .terminating:
            let grace = gracePeriod ?? .zero
            let elapsed = now - (terminatingAt ?? now)
            let remaining = max(.zero, grace - elapsed)
            inFlight = InFlightCall(operation: .terminating, gracePeriod: grace)
            return .terminating(latestConfig, TerminationContext(gracePeriod: grace, remaining: remaining))
        case .starting, .running:
            if let pending {
                self.pending = nil
                active = pending.config
                resyncRequested = false
                inFlight = InFlightCall(operation: .sync)
                return .sync(pending.config, pending.type)
            }
            if resyncRequested, let active {
                resyncRequested = false
                inFlight = InFlightCall(operation: .sync)
                // Until a sync succeeded the process was never created: retries are still creates.
                return .sync(active, startedAt == nil ? .create : .sync)
            }
            return nil
        }
    }

    /// The sync hook returned or threw.
    mutating func completeSync(_ result: Result<SyncOutcome, any Error>, now: Instant) -> Completion {
        inFlight = nil
        lastSyncAt = now
        // Termination was requested while the sync ran: its result is moot.
        if terminatingAt != nil { return Completion(next: .immediately) }
        switch result {
        case .success(let outcome):
            consecutiveFailures = 0
            var completion = Completion(next: .resync)
            if startedAt == nil {
                startedAt = now
                completion.entered = .running
                completion.startDuration = now - createdAt
            }
            switch outcome {
            case .running:
                break
            case .resync(let delay):
                completion.next = .after(delay)
            case .terminal(let reason):
                let decision = requestTermination(gracePeriod: nil, reason: reason, now: now)
                completion.next = .immediately
                if decision.began { completion.entered = .terminating }
            }
            return completion
        case .failure(let error):
            // Cancelled because a newer config superseded it (a start waiting for its
            // dependencies is let go when its config changes): moot, not a failure. The pending
            // update runs at once instead of after an error backoff.
            if error is CancellationError, pending != nil { return Completion(next: .immediately) }
            return recordFailure(error, transient: error is any TransientSyncError)
        }
    }

    /// The terminating hook returned or threw.
    mutating func completeTerminating(_ result: Result<Void, any Error>, now: Instant) -> Completion {
        let used = inFlight?.gracePeriod
        inFlight = nil
        // The grace period shrank while the hook ran: run it again with the shorter one.
        if let used, let gracePeriod, gracePeriod < used { return Completion(next: .immediately) }
        switch result {
        case .success:
            consecutiveFailures = 0
            terminatedAt = now
            return Completion(next: .immediately, entered: .terminated, terminationDuration: now - (terminatingAt ?? now))
        case .failure(let error):
            return recordFailure(error, transient: false)
        }
    }

    /// The terminated hook returned or threw.
    mutating func completeTerminated(_ result: Result<Void, any Error>, now: Instant) -> Completion {
        inFlight = nil
        switch result {
        case .success:
            consecutiveFailures = 0
            finishedAt = now
            return Completion(next: .exit, entered: .finished)
        case .failure(let error):
            return recordFailure(error, transient: false)
        }
    }

    private mutating func recordFailure(_ error: any Error, transient: Bool) -> Completion {
        consecutiveFailures += 1
        errorCount += 1
        lastError = String(describing: error)
        return Completion(next: .retry(consecutiveFailures: consecutiveFailures, transient: transient), error: error)
    }
}
