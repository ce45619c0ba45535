import Glibc
public import Logging
public import ProcmgrEngine
public import ProcmgrMetrics
import ProcmgrSupport

/// The ``ProcessSyncer`` for real programs: the engine decides *what* should run, this makes the
/// OS match.
///
/// - `syncProcess` starts the program if it is not running (after its restart backoff) — or, in
///   adopt mode, takes over the child a previous agent left (see `ProcessRuntime+Adoption`) —,
///   restarts it when its config changed or its heartbeat or health probe failed (a failed
///   check is a failure like a crash: it backs off, and `restart: never` ends the worker),
///   notices an exit and applies the restart policy (`never`/`on-failure` after a clean exit
///   end the worker: a terminal result).
/// - `syncTerminatingProcess` stops the whole process group: stop signal, the engine's
///   (shrink-only) grace period, SIGKILL; it returns once the group is empty.
/// - `syncTerminatedProcess` releases the port, the capture, the guardian registration and every
///   per-process series.
///
/// An exit is reported to the engine through ``bind(to:)``'s `requestSync`, so a crash is acted on
/// within a millisecond, not at the next resync. Per-process state lives behind one lock; every
/// wait (spawn, stop) happens outside it.
public final class ProcessRuntime: ProcessSyncer {
    public typealias Config = ManagedProcess

    /// What the runtime tells the engine (set once the manager exists: they refer to each other).
    public struct EngineHooks: Sendable {
        public var requestSync: @Sendable (ProcessID) -> Void
        public var recordRestart: @Sendable (ProcessID) -> Void
        public var setHealthy: @Sendable (ProcessID, Bool) -> Void

        public init(
            requestSync: @escaping @Sendable (ProcessID) -> Void,
            recordRestart: @escaping @Sendable (ProcessID) -> Void = { _ in },
            setHealthy: @escaping @Sendable (ProcessID, Bool) -> Void = { _, _ in }
        ) {
            self.requestSync = requestSync
            self.recordRestart = recordRestart
            self.setHealthy = setHealthy
        }
    }

    let services: RuntimeServices
    /// What a previous agent left for adoption (`orphans: adopt`).
    let adoptable = LockedState(Adoptable())
    let metrics: RuntimeMetrics
    let logger: Logger
    let instances = LockedState<[ProcessID: RuntimeInstance]>([:])
    /// Terminated processes whose logs are still kept, oldest first; bounded so churn of unique
    /// ids cannot grow memory.
    private let retainedLogs = LockedState<[ProcessID]>([])
    private static let retainedLogLimit = 256
    let hooks = LockedState<EngineHooks?>(nil)
    private let monitorJobs: AsyncStream<MonitorJob>
    private let monitorJobsContinuation: AsyncStream<MonitorJob>.Continuation
    let random: @Sendable () -> Double
    /// Bounds the starts in flight (see ``StartGate``): twice the spawn thread's batch is plenty
    /// to keep it busy.
    private let startGate = StartGate(width: 16)

    public init(
        services: RuntimeServices,
        registry: MetricsRegistry,
        logger: Logger = Logger(label: "procmgr.runtime"),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) throws(MetricsRegistryError) {
        self.services = services
        self.metrics = try RuntimeMetrics(registry: registry)
        self.logger = logger
        self.random = random
        (monitorJobs, monitorJobsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        let metrics = self.metrics
        let ports = services.ports
        let instances = self.instances
        let guardian = services.guardian
        let stateFile = services.stateFile
        guardian?.observe { event in
            switch event {
            case .died, .respawnFailed: metrics.agentError(phase: "guardian")
            case .respawned: break
            }
        }
        stateFile?.onWriteFailure { _ in metrics.agentError(phase: "state") }
        registry.addCollector {
            metrics.portsInUse.set(Double(ports.inUse))
            metrics.guardianUp.set(guardian?.isUp == true ? 1 : 0)
            metrics.stateFileLastWrite.set(stateFile?.lastSuccessfulWrite ?? 0)
            Self.collectResources(instances: instances, metrics: metrics)
        }
    }

    /// False while `orphans: kill` has no guardian process (it died and could not be re-spawned
    /// yet): children would survive a crash of the agent. For `/readyz`; true without a guardian.
    public var orphanGuardUp: Bool { services.guardian?.isUp ?? true }

    /// Connects the runtime to the engine that drives it.
    public func bind<C: Clock>(to manager: ProcessManager<ProcessRuntime, C>) where C.Duration == Duration {
        bind(EngineHooks(
            requestSync: { [weak manager] in manager?.requestSync($0) },
            recordRestart: { [weak manager] in manager?.recordRestart($0) },
            setHealthy: { [weak manager] in manager?.setHealthy($0, $1) }))
    }

    public func bind(_ engineHooks: EngineHooks) {
        hooks.withLock { $0 = engineHooks }
    }

    /// Runs the heartbeat monitors and the health probes until cancelled. Part of the agent's
    /// service group; without it nothing is monitored or probed.
    ///
    /// It owns the probes' one `HTTPClient`: made here and shut down once the last probe has
    /// ended, so the client never outlives the tasks that use it.
    public func run() async {
        let prober = HealthProber(client: HealthProber.makeClient())
        await withDiscardingTaskGroup { group in
            for await job in monitorJobs {
                switch job {
                case .heartbeat(let job): group.addTask { await self.monitorHeartbeat(job) }
                case .health(let job): group.addTask { await self.monitorHealth(job, prober: prober) }
                }
            }
        }
        do {
            try await prober.client.shutdown()
        } catch {
            logger.warning("health probe client did not shut down cleanly", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Queries

    /// What the API shows about a process's program.
    public func snapshot(of id: ProcessID) -> RuntimeSnapshot? {
        instances.withLock { $0[id]?.snapshot }
    }

    /// The last lines the program wrote (stdout and stderr), oldest first.
    public func recentOutput(of id: ProcessID) -> [CapturedLine]? {
        instances.withLock { $0[id] }.map { $0.recent?.lines ?? [] }
    }

    /// Asks for a restart of a running program (the API's restart): stopped and started again at
    /// the next sync, counted with reason `manual`.
    public func requestRestart(of id: ProcessID) -> Bool {
        let known = instances.withLock { instances -> Bool in
            guard instances[id]?.child != nil else { return false }
            instances[id]!.pendingRestartReason = "manual"
            return true
        }
        if known { hooks.withLock { $0 }?.requestSync(id) }
        return known
    }

    /// Writes the state file's pending changes now (it is otherwise written a few milliseconds
    /// behind): call before the process exits, so the next agent reads every child.
    public func flushStateFile() {
        do {
            try services.stateFile?.flush()
        } catch {
            logger.error("cannot write the state file", metadata: ["error": "\(error)"])
        }
    }

    /// SIGKILLs every running program's whole group at once, without grace: the agent's answer
    /// to a second shutdown signal. Exits are then observed and reaped as usual.
    @discardableResult
    public func killAllGroups() -> Int {
        let groups = instances.withLock { $0.values.compactMap { $0.child?.spawned.pgid } }
        for pgid in groups { _ = kill(-pgid, SIGKILL) }
        return groups.count
    }

    // MARK: ProcessSyncer

    public func syncProcess(_ id: ProcessID, config: ManagedProcess, updateType: UpdateType) async throws -> SyncOutcome {
        var instance = instances.withLock { $0[id] ?? RuntimeInstance() }
        if instance.terminated { instance = RuntimeInstance() }  // the id was created anew
        let clock = ContinuousClock()
        if instance.child == nil, let adoptable = claimAdoptable(id) {
            adopt(adoptable, id: id, config: config, instance: &instance)
        }

        if let child = instance.child {
            let exited = child.spawned.exit.value
            let restartReason = exited == nil ? (instance.pendingRestartReason ?? (child.config != config ? "config" : nil)) : nil
            if exited == nil, restartReason == nil {
                return settled(id, instance: &instance, now: clock.now)
            }
            // Stop what is left of the group: all of it for a restart, the leftovers of a crash.
            _ = await services.stopper.stop(child.spawned.handle, signal: child.config.stopSignal, grace: child.config.terminationGracePeriod)
            let status = await child.spawned.exit.wait()
            release(child, id: id, instance: &instance)
            instance.lastExit = status
            if let restartReason {
                // A failed probe or heartbeat is a failure like a crash, so `restart:` decides,
                // as kubelet's restartPolicy does for a liveness kill: `never` stops here,
                // `on-failure` and `always` restart. Config and manual restarts are the
                // operator's own request and always start the program again.
                let failed = restartReason == "health" || restartReason == "heartbeat"
                if failed, config.restart == .never {
                    instance.pendingRestartReason = nil
                    store(id, instance)
                    logger.notice("process stopped after a failed \(restartReason) check; not restarted", metadata: ["process": "\(id)", "status": "\(status)"])
                    return .terminal(reason: "stopped: \(restartReason) check failed; restart: never")
                }
                noteRestart(id, reason: restartReason, instance: &instance)
                instance.nextStartAt = nil
                // Repeated failed checks back off (the circuit breaker) instead of hammering a
                // program that cannot get well.
                if failed { backOff(after: child, config: config, instance: &instance, now: clock.now) }
            } else {
                logger.notice("process exited", metadata: ["process": "\(id)", "status": "\(status)"])
                switch config.restart {
                case .never:
                    store(id, instance)
                    return .terminal(reason: "exited (\(status)); restart: never")
                case .onFailure where status == .exited(code: 0):
                    store(id, instance)
                    return .terminal(reason: "exited cleanly; restart: on-failure")
                default:
                    backOff(after: child, config: config, instance: &instance, now: clock.now)
                    noteRestart(id, reason: "exit", instance: &instance)
                }
            }
        }

        if let nextStart = instance.nextStartAt, clock.now < nextStart {
            store(id, instance)
            return .resync(after: clock.now.duration(to: nextStart))
        }
        let recorded = try await startGate.pass { try await start(id, config: config, instance: &instance) }
        if services.adoptionOutputDirectory != nil, let recorded {
            // Adopt mode: the next agent finds its children only through the state file, so the
            // child is on disk before it counts as running. (Kill mode does not wait: there the
            // guardian kills the children with the agent, and the file is only a second net.)
            await services.stateFile?.committed(recorded)
        }
        return settled(id, instance: &instance, now: clock.now)
    }

    public func syncTerminatingProcess(_ id: ProcessID, config: ManagedProcess, termination: TerminationContext) async throws {
        // Terminated before its first sync: what a previous agent left for it goes too.
        if let adoptable = claimAdoptable(id) { await sweep(adoptable) }
        guard let child = instances.withLock({ $0[id]?.child }) else { return }
        let stopper = services.stopper
        let result = try await waitCancellably {
            await stopper.stop(child.spawned.handle, signal: child.config.stopSignal, grace: termination.remaining)
        }
        logger.info("stopped", metadata: ["process": "\(id)", "outcome": "\(result.outcome.rawValue)", "elapsed": "\(result.elapsed)"])
        var instance = instances.withLock { $0[id] ?? RuntimeInstance() }
        if instance.child?.spawned.pid == child.spawned.pid {
            instance.lastExit = await child.spawned.exit.wait()
            release(child, id: id, instance: &instance)
            store(id, instance)
        }
    }

    public func syncTerminatedProcess(_ id: ProcessID, config: ManagedProcess) async throws {
        let instance = instances.withLock { instances -> RuntimeInstance? in
            guard var instance = instances[id] else { return nil }
            instance.terminated = true
            instance.child = nil
            defer { instance.port = nil; instance.output = nil; instances[id] = instance }
            return instance
        }
        if let port = instance?.port { _ = services.ports.release(port) }
        if let output = instance?.output {
            // The group is gone, so EOF is at most a reactor turn away: let the last lines (a
            // final one without newline included) land before closing. Only a descendant that
            // left the group and keeps the pipe open makes this wait its whole bound.
            _ = await output.waitUntilFinished(timeout: .milliseconds(100))
            output.detach()
        }
        metrics.purge(process: id)
        let evicted = retainedLogs.withLock { retained -> [ProcessID] in
            retained.removeAll { $0 == id }
            retained.append(id)
            guard retained.count > Self.retainedLogLimit else { return [] }
            defer { retained.removeFirst(retained.count - Self.retainedLogLimit) }
            return Array(retained.prefix(retained.count - Self.retainedLogLimit))
        }
        if !evicted.isEmpty {
            instances.withLock { instances in
                for id in evicted where instances[id]?.terminated == true { instances[id] = nil }
            }
        }
    }

    // MARK: Steps

    /// Starts the program; returns the state-file change that records it, if there is a file.
    private func start(_ id: ProcessID, config: ManagedProcess, instance: inout RuntimeInstance) async throws -> ChildStateFile.Generation? {
        do {
            if instance.port == nil {
                switch config.port {
                case .none: break
                case .auto: instance.port = try services.ports.allocate()
                case .fixed(let port):
                    try services.ports.reserve(fixed: port)
                    instance.port = port
                }
            }
        } catch {
            store(id, instance)
            metrics.errors.labels([id, "spawn"]).increment()
            throw error
        }
        var environment = config.environment
        if let port = instance.port { environment["PORT"] = "\(port)" }
        var inherited: [FDMapping] = []
        var heartbeat: HeartbeatChannel?
        if config.heartbeat != nil {
            let channel = try HeartbeatChannel(reactor: services.capture.reactor)
            environment.merge(channel.environment) { _, new in new }
            inherited.append(channel.inheritedFD)
            heartbeat = channel
        }
        let output: AdoptableOutput.Ends?
        do {
            output = try services.adoptionOutputDirectory.map { directory throws(SystemError) in try AdoptableOutput.Ends.create(directory: directory, name: id) }
        } catch {
            heartbeat?.close()
            store(id, instance)
            metrics.errors.labels([id, "spawn"]).increment()
            logger.error("cannot create the output FIFOs", metadata: ["process": "\(id)", "error": "\(error)"])
            throw error
        }
        let spec = SpawnSpec(
            arguments: config.resolvedArguments(port: instance.port),
            environment: environment,
            workingDirectory: config.workingDirectory,
            captureOutput: output == nil,
            inheritedFDs: inherited,
            killWithParent: services.killWithAgent,
            outputFDs: output?.child)
        let spawned: SpawnedProcess
        do {
            spawned = try await services.spawner.spawn(spec)
        } catch {
            heartbeat?.childStarted()
            heartbeat?.close()
            output?.closeChildEnds()
            output?.discard()
            store(id, instance)
            metrics.errors.labels([id, "spawn"]).increment()
            logger.error("spawn failed", metadata: ["process": "\(id)", "error": "\(error)"])
            throw error
        }
        heartbeat?.childStarted()
        output?.closeChildEnds()
        try? services.guardian?.register(pgid: spawned.pgid)
        var record = ChildRecord(name: id, process: spawned.handle)
        if let output {
            record.configFingerprint = config.fingerprint
            record.port = instance.port
            record.stdoutPath = output.paths.stdoutPath
            record.stderrPath = output.paths.stderrPath
        }
        let recorded = services.stateFile?.record(record)
        let child = RunningChild(
            spawned: spawned, config: config, startedAt: ContinuousClock().now, heartbeat: heartbeat, adoptableOutput: output?.paths)
        began(id, child: child, stdout: output?.agent.stdout ?? spawned.stdoutFD, stderr: output?.agent.stderr ?? spawned.stderrFD, instance: &instance)
        logger.info("started", metadata: ["process": "\(id)", "pid": "\(spawned.pid)", "port": "\(instance.port.map(String.init) ?? "-")"])
        return recorded
    }

    /// Takes over a child that now runs (just spawned, or adopted): output capture, exit and
    /// health watching, heartbeats.
    func began(_ id: ProcessID, child: RunningChild, stdout: Int32?, stderr: Int32?, instance: inout RuntimeInstance) {
        let config = child.config
        let spawned = child.spawned
        let logger = self.logger
        let recent = instance.recent ?? RecentLines(capacity: config.output.recentLines)
        instance.recent = recent
        var captureConfiguration = config.output
        captureConfiguration.recentLines = 0  // kept across restarts in `recent` instead
        instance.output?.detach()
        instance.output = try? services.capture.attach(
            name: id, stdout: stdout, stderr: stderr, configuration: captureConfiguration
        ) { line in
            recent.append(line)
            logger.info("\(line.text)", metadata: ["process": "\(id)", "stream": "\(line.stream.rawValue)"])
        }
        instance.child = child
        instance.pendingRestartReason = nil
        instance.nextStartAt = nil
        instance.healthySince = nil
        store(id, instance)
        // With a probe, healthy only once the probe says so.
        let probe = config.health.flatMap { settings in instance.port.map { HealthJob(id: id, pid: spawned.pid, exit: spawned.exit, port: $0, settings: settings) } }
        if config.health != nil && probe == nil {
            logger.warning("health probe configured without a port; not probing", metadata: ["process": "\(id)"])
        }
        metrics.healthy.labels([id]).set(probe == nil ? 1 : 0)
        hooks.withLock { $0 }?.setHealthy(id, probe == nil)
        let hooks = self.hooks
        spawned.exit.onFulfill { _ in hooks.withLock { $0 }?.requestSync(id) }
        if let heartbeat = child.heartbeat, let settings = config.heartbeat {
            monitorJobsContinuation.yield(.heartbeat(HeartbeatJob(id: id, pid: spawned.pid, channel: heartbeat, settings: settings)))
        }
        if let probe { monitorJobsContinuation.yield(.health(probe)) }
    }

    /// The program runs: forget old failures once it ran long enough, and ask to be looked at
    /// again exactly then.
    private func settled(_ id: ProcessID, instance: inout RuntimeInstance, now: ContinuousClock.Instant) -> SyncOutcome {
        guard let child = instance.child else { return .running }
        defer { store(id, instance) }
        guard instance.failuresInRow > 0 else { return idleResync() }
        // Not healthy yet: the probe asks for a sync when it passes.
        guard let stableSince = child.stableSince(healthySince: instance.healthySince) else { return .running }
        let ran = stableSince.duration(to: now)
        let resetAfter = child.config.backoff.resetAfter
        if ran >= resetAfter {
            instance.failuresInRow = 0
            return idleResync()
        }
        return .resync(after: resetAfter - ran)
    }

    private func release(_ child: RunningChild, id: ProcessID, instance: inout RuntimeInstance) {
        child.heartbeat?.close()
        try? services.guardian?.unregister(pgid: child.spawned.pgid)
        services.stateFile?.forget(pid: child.spawned.pid)
        child.adoptableOutput?.remove()
        instance.accumulatedCPUSeconds += instance.lastCPUSample
        instance.lastCPUSample = 0
        instance.child = nil
        metrics.healthy.labels([id]).set(0)
        hooks.withLock { $0 }?.setHealthy(id, false)
    }

    /// Counts a failure into the restart backoff and sets the time of the next start. A program
    /// that ran well for reset_after before this failure starts a new series of failures,
    /// whether or not a resync happened to reset the count meanwhile.
    private func backOff(after child: RunningChild, config: ManagedProcess, instance: inout RuntimeInstance, now: ContinuousClock.Instant) {
        if let stableSince = child.stableSince(healthySince: instance.healthySince), stableSince.duration(to: now) >= child.config.backoff.resetAfter {
            instance.failuresInRow = 0
        }
        instance.failuresInRow += 1
        let delay = config.backoff.delays.delay(afterFailures: instance.failuresInRow, random: random())
        instance.nextStartAt = now.advanced(by: delay)
        instance.restartDelays = Array((instance.restartDelays + [delay]).suffix(16))
    }

    private func noteRestart(_ id: ProcessID, reason: String, instance: inout RuntimeInstance) {
        instance.restarts += 1
        instance.pendingRestartReason = nil
        metrics.restarts.labels([id, reason]).increment()
        hooks.withLock { $0 }?.recordRestart(id)
    }

    func store(_ id: ProcessID, _ instance: RuntimeInstance) {
        instances.withLock { $0[id] = instance }
    }

    // MARK: Heartbeats

    /// Pings run on the capture's loop thread (``HeartbeatChannel/startMonitoring``); this task
    /// only waits for the channel to close, so cancelling ``run()`` still ends every monitor.
    private func monitorHeartbeat(_ job: HeartbeatJob) async {
        let metrics = self.metrics
        let latency = metrics.heartbeatLatency.labels([job.id])
        let ended = OneShot<Void>()
        job.channel.startMonitoring(interval: job.settings.interval, timeout: job.settings.timeout) { result in
            switch result {
            case .success(let roundTrip):
                latency.observe(roundTrip)
            case .failure(.timeout):
                metrics.heartbeatTimeouts.labels([job.id]).increment()
                metrics.errors.labels([job.id, "heartbeat"]).increment()
                let restart = self.instances.withLock { instances -> Bool in
                    guard instances[job.id]?.child?.spawned.pid == job.pid else { return false }
                    instances[job.id]!.pendingRestartReason = "heartbeat"
                    return true
                }
                if restart {
                    self.logger.warning("heartbeat missed; stopping the program (restart: decides whether it starts again)", metadata: ["process": "\(job.id)"])
                    job.channel.close()
                    self.hooks.withLock { $0 }?.requestSync(job.id)
                }
            case .failure(.closed):
                _ = ended.fulfill(())
            case .failure:
                break
            }
        }
        await withTaskCancellationHandler {
            await ended.wait()
        } onCancel: {
            job.channel.stopMonitoring()
            _ = ended.fulfill(())
        }
    }

    // MARK: Resources

    /// CPU and RSS of every running group, sampled at scrape time. CPU is kept monotonic across
    /// restarts: the last sample of an ended child is carried into the total.
    private static func collectResources(instances: LockedState<[ProcessID: RuntimeInstance]>, metrics: RuntimeMetrics) {
        let groups = instances.withLock { instances in
            instances.compactMap { id, instance in instance.child.map { (id, $0.spawned.pgid) } }
        }
        let usage = ProcessGroupResources.sample(pgids: Set(groups.map(\.1)))
        let totals = instances.withLock { instances -> [(ProcessID, Double, UInt64)] in
            groups.compactMap { id, pgid in
                guard let sample = usage[pgid], instances[id] != nil else { return nil }
                instances[id]!.lastCPUSample = max(instances[id]!.lastCPUSample, sample.cpuSeconds)
                return (id, instances[id]!.accumulatedCPUSeconds + instances[id]!.lastCPUSample, sample.rssBytes)
            }
        }
        for (id, cpu, rss) in totals {
            let counter = metrics.childCPU.labels([id])
            counter.setTotal(max(counter.value, cpu))
            metrics.childMemory.labels([id]).set(Double(rss))
        }
    }
}

/// A monitor ``ProcessRuntime/run()`` hosts for one child.
enum MonitorJob: Sendable {
    case heartbeat(HeartbeatJob)
    case health(HealthJob)
}

/// A heartbeat monitor to run for one child.
struct HeartbeatJob: Sendable {
    let id: ProcessID
    let pid: Int32
    let channel: HeartbeatChannel
    let settings: HeartbeatSettings
}
