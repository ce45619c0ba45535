import ProcmgrMetrics

/// The engine's metric families (SPEC §3.4), registered once per registry.
///
/// Families are idempotent in the registry, so the runtime registers `procmgr_errors_total` again
/// for its own phases (spawn, health, …) and gets this same family; it removes those series itself
/// in its terminated hook, and the engine removes the ones it recorded when it purges the worker.
struct EngineMetrics: Sendable {
    /// The engine's own phases of `procmgr_errors_total`, indexed like `WorkerStateMachine.Operation`.
    static let errorPhases: [ErrorPhase] = [.sync, .terminating, .terminated]

    let processes: GaugeFamily
    let processesByState: [Gauge]
    let transitions: CounterFamily
    let syncDuration: HistogramFamily
    let syncDurationByOperation: [Histogram]
    let startDuration: Histogram
    let terminationDuration: Histogram
    let terminatingSince: GaugeFamily
    let gracePeriod: GaugeFamily
    let queueDepth: Gauge
    let queueAdds: Counter
    let queueRetries: Counter
    let queueBackoff: Histogram
    let errors: CounterFamily

    init(registry: MetricsRegistry) throws(MetricsRegistryError) {
        let processes = try registry.gaugeFamily(
            name: "procmgr_processes", help: "Managed processes now in each lifecycle state.", labelNames: ["state"])
        self.processes = processes
        processesByState = ProcessState.allCases.map { processes.labels([$0.description]) }
        transitions = try registry.counterFamily(
            name: "procmgr_state_transitions_total", help: "Entries of each process into each lifecycle state.",
            labelNames: ["process", "state"])
        let syncDuration = try registry.histogramFamily(
            name: "procmgr_sync_duration_seconds", help: "Time spent in each syncer hook call.",
            labelNames: ["operation"], buckets: HistogramBuckets.exponential(start: 0.0005, factor: 2, count: 16))
        self.syncDuration = syncDuration
        syncDurationByOperation = ["sync", "terminating", "terminated"].map { syncDuration.labels([$0]) }
        startDuration = try registry.histogram(
            name: "procmgr_start_duration_seconds", help: "Time from process creation to its first successful sync.",
            buckets: HistogramBuckets.exponential(start: 0.001, factor: 2, count: 16))
        terminationDuration = try registry.histogram(
            name: "procmgr_termination_duration_seconds", help: "Time from termination request to terminated.",
            buckets: HistogramBuckets.exponential(start: 0.001, factor: 2, count: 18))
        terminatingSince = try registry.gaugeFamily(
            name: "procmgr_process_terminating_since_seconds",
            help: "Unix time at which the process's current termination began; present only while terminating.",
            labelNames: ["process"])
        gracePeriod = try registry.gaugeFamily(
            name: "procmgr_process_grace_period_seconds",
            help: "Effective grace period of the process's current termination; present only while terminating.",
            labelNames: ["process"])
        queueDepth = try registry.gauge(name: "procmgr_work_queue_depth", help: "Workers waiting in the delay queue.")
        queueAdds = try registry.counter(name: "procmgr_work_queue_adds_total", help: "Enqueues into the delay queue.")
        queueRetries = try registry.counter(
            name: "procmgr_work_queue_retries_total", help: "Enqueues into the delay queue after an error.")
        queueBackoff = try registry.histogram(
            name: "procmgr_work_queue_backoff_seconds", help: "Delays scheduled after errors.",
            buckets: HistogramBuckets.exponential(start: 0.1, factor: 2, count: 12))
        errors = try registry.counterFamily(
            name: "procmgr_errors_total", help: "Errors by process and lifecycle phase.", labelNames: ["process", "phase"])
    }

    func entered(_ state: ProcessState, process: ProcessID, from previous: ProcessState?) {
        if let previous { processesByState[previous.rawValue].decrement() }
        processesByState[state.rawValue].increment()
        transitions.labels([process, state.description]).increment()
    }

    func beganTermination(process: ProcessID, unixTime: Double, gracePeriod grace: Duration) {
        terminatingSince.labels([process]).set(unixTime)
        gracePeriod.labels([process]).set(grace.seconds)
    }

    func shortenedGrace(process: ProcessID, to grace: Duration) {
        gracePeriod.labels([process]).set(grace.seconds)
    }

    func endedTermination(process: ProcessID) {
        terminatingSince.remove([process])
        gracePeriod.remove([process])
    }

    func recordError(process: ProcessID, operation: Int) {
        errors.labels([process, Self.errorPhases[operation].rawValue]).increment()
    }

    /// Removes every per-process series the engine created, so a purged process leaves nothing
    /// behind. Only series that exist are named: a purge costs a handful of lookups, not one per
    /// possible label combination, which matters when thousands of workers churn.
    func purge(process: ProcessID, finalState: ProcessState, statesEntered: [ProcessState], errorOperations: ErrorOperations) {
        processesByState[finalState.rawValue].decrement()
        for state in statesEntered { transitions.remove([process, state.description]) }
        for (index, phase) in Self.errorPhases.enumerated() where errorOperations.contains(index) {
            errors.remove([process, phase.rawValue])
        }
        if finalState == .terminating { endedTermination(process: process) }
    }
}

/// Which of the engine's error phases a worker has recorded (a bit per `Operation`).
struct ErrorOperations: Sendable {
    private var bits: UInt8 = 0
    mutating func insert(_ index: Int) { bits |= 1 << index }
    func contains(_ index: Int) -> Bool { bits & (1 << index) != 0 }
}
