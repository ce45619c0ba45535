import Glibc
public import Logging
public import ProcmgrEngine
public import ProcmgrMetrics
public import ProcmgrSupport

/// The ``ProcessSyncer`` for real programs: the engine decides *what* should run, this makes the
/// OS match.
///
/// - `syncProcess` starts the program if it is not running (after its restart backoff) — or, in
///   adopt mode, takes over the child a previous agent left (see `ProcessRuntime+Adoption`) —,
///   restarts it when its config changed or its heartbeat, liveness or startup probe failed (a failed
///   check is a failure like a crash: it backs off, and `restart: never` ends the worker),
///   notices an exit and applies the restart policy (`never`/`on-failure` after a clean exit
///   end the worker: a terminal result).
/// - `syncTerminatingProcess` stops the whole process group: stop signal, the engine's
///   (shrink-only) grace period, SIGKILL; it returns once the group is empty.
/// - `syncTerminatedProcess` releases the port, the capture, the guardian registration and every
///   per-process series.
///
/// An exit is reported to the engine through ``bind(to:)``'s `requestSync`, so a crash is acted on
/// within a millisecond, not at the next resync. What to do is the restart policy's decision
/// (``RestartStateMachine``); this performs it. Per-process state lives behind one lock and is
/// changed in place, at the point of change; every wait (spawn, stop) happens outside it.
public final class ProcessRuntime: ProcessSyncer {
    public typealias Config = ManagedProcess

    /// What the runtime tells the engine (set once the manager exists: they refer to each other).
    public struct EngineHooks: Sendable {
        public var requestSync: @Sendable (ProcessID) -> Void
        /// A restart was decided, for this reason (the program is already stopped). Called
        /// outside the runtime's lock.
        public var recordRestart: @Sendable (ProcessID, RestartReason) -> Void
        public var setHealthy: @Sendable (ProcessID, Bool) -> Void
        /// A field of the process's ``ProcessConditions`` flipped (spawn, exit, startup passed,
        /// ready, healthy). Called outside the runtime's lock.
        public var conditionsChanged: @Sendable (ProcessID) -> Void
        /// A program of the process (pid) is gone, with this status: reported once per program,
        /// when the runtime releases it (the sync that noticed the exit, a stop, a restart), so
        /// before the restart or termination that follows it. Called outside the runtime's lock.
        public var programExited: @Sendable (ProcessID, Int32, ProcessExitStatus) -> Void
        /// A probe's verdict flipped. Called outside the runtime's lock.
        public var probeFlipped: @Sendable (ProcessID, ProbeFlip) -> Void
        /// A program of the process (pid) now runs: spawned, or adopted from a previous agent;
        /// reported before its probes start. Called outside the runtime's lock.
        public var programStarted: @Sendable (ProcessID, Int32) -> Void
        /// The kernel's OOM killer killed a process in the process's cgroup (the program or one
        /// of its descendants), `count` times since the last report. Called on the reactor thread.
        public var oomKilled: @Sendable (ProcessID, UInt64) -> Void

        public init(
            requestSync: @escaping @Sendable (ProcessID) -> Void,
            recordRestart: @escaping @Sendable (ProcessID, RestartReason) -> Void = { _, _ in },
            setHealthy: @escaping @Sendable (ProcessID, Bool) -> Void = { _, _ in },
            conditionsChanged: @escaping @Sendable (ProcessID) -> Void = { _ in },
            programExited: @escaping @Sendable (ProcessID, Int32, ProcessExitStatus) -> Void = { _, _, _ in },
            probeFlipped: @escaping @Sendable (ProcessID, ProbeFlip) -> Void = { _, _ in },
            programStarted: @escaping @Sendable (ProcessID, Int32) -> Void = { _, _ in },
            oomKilled: @escaping @Sendable (ProcessID, UInt64) -> Void = { _, _ in }
        ) {
            self.requestSync = requestSync
            self.recordRestart = recordRestart
            self.setHealthy = setHealthy
            self.conditionsChanged = conditionsChanged
            self.programExited = programExited
            self.probeFlipped = probeFlipped
            self.programStarted = programStarted
            self.oomKilled = oomKilled
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
    /// When every probe of every process is due (one timer heap, one driver in ``run()``).
    let probeScheduler: ProbeScheduler
    /// Bounds the starts in flight (see ``StartGate``): twice the spawn thread's batch is plenty
    /// to keep it busy.
    private let startGate = StartGate(width: 16)
    /// How the children's output reaches the agent's own log.
    let childOutputLogging: ChildOutputLogging
    /// Awaited before every start (``setStartPrecondition(_:)``): the agent's dependency wait.
    private let startPrecondition = LockedState(WeakStartPrecondition())
    /// Runs `hooks.pre_start` / `hooks.post_stop`.
    let hookRunner: HookRunner
    /// Samples the programs' CPU and memory in the background, for scrapes to copy (see
    /// `ProcessRuntime+Resources`).
    let resourceSampler: ResourceSampler

    public init(
        services: RuntimeServices,
        registry: MetricsRegistry,
        logger: Logger = Logger(label: "procmgr.runtime"),
        childOutputLogging: ChildOutputLogging = ChildOutputLogging(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        resourceSampling: ResourceSamplingPacing = ResourceSamplingPacing()
    ) throws(MetricsRegistryError) {
        self.services = services
        self.childOutputLogging = childOutputLogging
        self.metrics = try RuntimeMetrics(registry: registry)
        self.logger = logger
        self.random = random
        self.probeScheduler = ProbeScheduler(reactor: services.capture.reactor)
        self.hookRunner = HookRunner(stopper: services.stopper, capture: services.capture)
        self.resourceSampler = ResourceSampler(pacing: resourceSampling)
        metrics.cgroupsEnabled.set(services.cgroups == nil ? 0 : 1)
        (monitorJobs, monitorJobsContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        let metrics = self.metrics
        let ports = services.ports
        let instances = self.instances
        let guardian = services.guardian
        let stateFile = services.stateFile
        let sampler = resourceSampler
        let spawner = services.spawner
        guardian?.observe { event in
            switch event {
            case .died, .respawnFailed: metrics.agentError(phase: .guardian)
            case .respawned: break
            }
        }
        stateFile?.onWriteFailure { _ in metrics.agentError(phase: .state) }
        registry.addCollector {
            metrics.portsInUse.set(Double(ports.inUse))
            metrics.guardianUp.set(guardian?.isUp == true ? 1 : 0)
            metrics.spawnsPaused.set(spawner.isPausedForDescriptors ? 1 : 0)
            metrics.stateFileLastWrite.set(stateFile?.lastSuccessfulWrite ?? 0)
            Self.collectResources(instances: instances, metrics: metrics, sampler: sampler)
        }
    }

    /// False while `orphans: kill` has no guardian process (it died and could not be re-spawned
    /// yet): children would survive a crash of the agent. For `/readyz`; true without a guardian.
    public var orphanGuardUp: Bool { services.guardian?.isUp ?? true }

    /// Connects the runtime to the engine that drives it.
    public func bind<C: Clock>(to manager: ProcessManager<ProcessRuntime, C>) where C.Duration == Duration {
        bind(EngineHooks(
            requestSync: { [weak manager] in manager?.requestSync($0) },
            recordRestart: { [weak manager] id, _ in manager?.recordRestart(id) },
            setHealthy: { [weak manager] in manager?.setHealthy($0, $1) }))
    }

    public func bind(_ engineHooks: EngineHooks) {
        hooks.withLock { $0 = engineHooks }
    }

    /// Runs the heartbeat monitors, the probe driver and the resource sampler until cancelled.
    /// Part of the agent's service group; without it nothing is monitored, probed or sampled.
    ///
    /// It owns the probes' one `HTTPClient` and `/dev/null` descriptor: made here and released
    /// once the last check has ended, so neither outlives the tasks that use it.
    public func run() async {
        let http = HTTPProbe(client: HTTPProbe.makeClient())
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let actions = ProbeActions(
            http: http, tcp: TCPProbe(reactor: services.capture.reactor),
            exec: ExecProbe(spawner: services.spawner, stopper: services.stopper, devNull: devNull, logger: logger))
        await withDiscardingTaskGroup { group in
            group.addTask { await self.driveProbes(actions) }
            group.addTask { await self.resourceSampler.run { await self.sampleResourceRound() } }
            for await job in monitorJobs {
                switch job {
                case .heartbeat(let job): group.addTask { await self.monitorHeartbeat(job) }
                }
            }
        }
        if devNull >= 0 { close(devNull) }
        do {
            try await http.client.shutdown()
        } catch {
            logger.warning("probe HTTP client did not shut down cleanly", metadata: ["error": "\(error)"])
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

    /// The history of the program's output as a followable ring (line ids continue across
    /// restarts), or nil before the process's first program. `recentLines: 0` keeps none.
    public func outputStream(of id: ProcessID) -> StreamRing<CapturedLine>? {
        instances.withLock { $0[id]?.recent?.ring }
    }

    /// Sends `signal` to the current program's whole process group; false when no program runs.
    public func signal(_ id: ProcessID, _ signal: Int32) -> Bool {
        guard let child = instances.withLock({ $0[id]?.child }) else { return false }
        // Members that left the group (setsid, a double fork) get it too, like systemd's `kill`.
        let sent = Glibc.kill(-child.spawned.pgid, signal) == 0
        child.cgroup?.signalAll(signal, exceptGroup: child.spawned.pgid)
        return sent
    }

    /// Asks for a restart of a running program (the API's restart): stopped and started again at
    /// the next sync, counted with reason `manual`.
    public func requestRestart(of id: ProcessID) -> Bool {
        requestRestart(of: id, event: .manual)
    }

    /// Asks for a restart of a running program because a dependency it names with `restart: true`
    /// started a new program: stopped and started again (after its dependencies hold once more),
    /// counted with reason `dependency`. `false` when no program runs (nothing to restart).
    @discardableResult
    public func requestDependencyRestart(of id: ProcessID) -> Bool {
        requestRestart(of: id, event: .dependencyRestarted)
    }

    private func requestRestart(of id: ProcessID, event: Policy.Event) -> Bool {
        let known = instances.withLock { instances -> Bool in
            guard let child = instances[id]?.child else { return false }
            _ = instances[id]?.policy.handle(event, rules: Policy.Rules(child.config), now: .now, random: random())
            return true
        }
        if known { hooks.withLock { $0 }?.requestSync(id) }
        return known
    }

    /// Sets what every start awaits first (held weakly), outside the bound on concurrent starts: the agent's
    /// dependency wait. While it waits the worker stays `starting` (or, for a restart, keeps its
    /// state without a program), holding no port; a termination cancels the sync and with it the
    /// wait, and a precondition that throws fails the start like any start error (a `CancellationError`
    /// while an update is pending is moot to the engine).
    public func setStartPrecondition(_ precondition: any StartPrecondition) {
        startPrecondition.withLock { $0.precondition = precondition }
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
        let children = instances.withLock { $0.values.compactMap(\.child) }
        for child in children {
            child.cgroup?.killAll()
            _ = kill(-child.spawned.pgid, SIGKILL)
        }
        return children.count
    }

    // MARK: ProcessSyncer

    /// Asks the restart policy what to do and does it: every decision is taken under the lock
    /// on the record as it is now, and every wait (stop, spawn) happens outside it, after which
    /// only the fields the step changed are written.
    public func syncProcess(_ id: ProcessID, config: ManagedProcess, updateType: UpdateType) async throws -> SyncOutcome {
        let rules = Policy.Rules(config)
        let hasChild = instances.withLock { instances -> Bool in
            if instances[id]?.terminated != false { instances[id] = RuntimeInstance() }  // new, or the id was created anew
            // The output ring exists from the first sync, not the first spawn: a client following
            // the log of a process still waiting for a dependency sees its first line when it comes.
            if instances[id]?.recent == nil { instances[id]?.recent = RecentLines(capacity: config.output.recentLines) }
            return instances[id]?.child != nil
        }
        if !hasChild, let adoptable = claimAdoptable(id) {
            adopt(adoptable, id: id, config: config)
        }
        let decided = update(id) { instance -> (RunningChild?, Policy.Action) in
            let now = ContinuousClock.now
            guard let child = instance.child else { return (nil, instance.policy.handle(.tick, rules: rules, now: now, random: random())) }
            if let status = child.spawned.exit.value {
                let event: Policy.Event = child.killedByOOM(status) ? .oomKilled : .exited(status)
                return (child, instance.policy.handle(event, rules: rules, now: now, random: random()))
            }
            if child.config != config { _ = instance.policy.handle(.configChanged, rules: rules, now: now, random: random()) }
            return (child, instance.policy.handle(.tick, rules: rules, now: now, random: random()))
        }
        var (child, action) = decided
        if let cgroup = child?.cgroup, action.followsOOMKill {
            countOOMKills(id, cgroup: cgroup)  // before the restart is visible: its kill is counted already
        }
        while true {
            switch action {
            case .resync(let resync):
                return outcome(resync)
            case .stopForGood(let reason):
                let status = await stop(child, id: id)
                let metadata: Logger.Metadata = ["process": "\(id)", "status": "\(status.map { "\($0)" } ?? "-")"]
                switch reason {
                case .exitedRestartNever, .exitedCleanly, .oomKilledRestartNever:
                    logger.notice("process exited", metadata: metadata)
                case .livenessFailed, .startupFailed, .heartbeatMissed, .watchdogFailed:
                    logger.notice("process stopped after a failed check; not restarted (restart: never)", metadata: metadata)
                }
                return .terminal(reason: reason.message(status: status))
            case .stopAndRestart(let reason, _):
                let status = await stop(child, id: id)
                if reason == .exit || reason == .oom {
                    logger.notice(reason == .oom ? "process killed by the OOM killer (limits.memory)" : "process exited",
                                  metadata: ["process": "\(id)", "status": "\(status.map { "\($0)" } ?? "-")"])
                }
                metrics.restart(id, reason: reason)
                hooks.withLock { $0 }?.recordRestart(id, reason)
                child = nil
                action = update(id) { $0.policy.handle(.tick, rules: rules, now: .now, random: random()) }
            case .start:
                if let precondition = startPrecondition.withLock({ $0.precondition }) { try await precondition.waitUntilSatisfied(id) }
                let recorded = try await startGate.pass { try await start(id, config: config) }
                if services.adoptionOutputDirectory != nil, let recorded {
                    // Adopt mode: the next agent finds its children only through the state file, so the
                    // child is on disk before it counts as running. (Kill mode does not wait: there the
                    // guardian kills the children with the agent, and the file is only a second net.)
                    await services.stateFile?.committed(recorded)
                }
                (child, action) = update(id) { instance in
                    (instance.child, instance.policy.handle(.tick, rules: rules, now: .now, random: random()))
                }
            }
        }
    }

    public func syncTerminatingProcess(_ id: ProcessID, config: ManagedProcess, termination: TerminationContext) async throws {
        // Terminated before its first sync: what a previous agent left for it goes too.
        if let adoptable = claimAdoptable(id) { await sweep(adoptable) }
        guard let child = instances.withLock({ $0[id]?.child }) else { return }
        let stopper = services.stopper
        let result = try await waitCancellably {
            await stopper.stop(child.spawned.handle, signal: child.config.stopSignal, grace: termination.remaining, cgroup: child.cgroup)
        }
        logger.info("stopped", metadata: ["process": "\(id)", "outcome": "\(result.outcome.rawValue)", "elapsed": "\(result.elapsed)"])
        let status = await child.spawned.exit.wait()
        release(child, id: id, status: status)
        await runPostStopHook(id, config: child.config)
    }

    public func syncTerminatedProcess(_ id: ProcessID, config: ManagedProcess) async throws {
        let instance = instances.withLock { instances -> RuntimeInstance? in
            guard var instance = instances[id] else { return nil }
            instance.terminated = true
            instance.child = nil
            instance.probes = nil
            defer {
                instance.port = nil
                instance.output = nil
                instance.cgroup = nil
                instance.oomWatch = nil
                instances[id] = instance
            }
            return instance
        }
        probeScheduler.drop(id)
        instance?.oomWatch?.cancel()
        if let cgroup = instance?.cgroup, !cgroup.remove() {
            logger.warning("cannot remove the process's cgroup (still busy)", metadata: ["process": "\(id)", "members": "\(cgroup.members())"])
        }
        if let port = instance?.port { _ = services.ports.release(port) }
        if let output = instance?.output {
            // The group is gone, so EOF is at most a reactor turn away: let the last lines (a
            // final one without newline included) land before closing. Only a descendant that
            // left the group and keeps the pipe open makes this wait its whole bound.
            _ = await output.waitUntilFinished(timeout: .milliseconds(100))
            output.detach()
        }
        instance?.outputLog?.flush()
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

    typealias Policy = RestartStateMachine<ContinuousClock.Instant>

    /// Runs `body` on the process's record under the lock: the only way a sync changes it.
    @discardableResult
    func update<T>(_ id: ProcessID, _ body: (inout RuntimeInstance) -> T) -> T {
        instances.withLock { instances in body(&instances[id, default: RuntimeInstance()]) }
    }

    private func outcome(_ resync: Policy.Resync) -> SyncOutcome {
        switch resync {
        case .now: .resync(after: .zero)
        case .after(let delay): .resync(after: delay)
        case .whenHealthy: .running  // the probe asks for a sync when it passes
        case .idle: idleResync()
        }
    }

    /// Stops what is left of the child's group (all of it for a restart, the leftovers of an
    /// exit) and releases it; returns its exit status.
    private func stop(_ child: RunningChild?, id: ProcessID) async -> ProcessExitStatus? {
        guard let child else { return nil }
        _ = await services.stopper.stop(
            child.spawned.handle, signal: child.config.stopSignal, grace: child.config.terminationGracePeriod, cgroup: child.cgroup)
        let status = await child.spawned.exit.wait()
        release(child, id: id, status: status)
        await runPostStopHook(id, config: child.config)
        return status
    }

    /// Starts the program; returns the state-file change that records it, if there is a file.
    private func start(_ id: ProcessID, config: ManagedProcess) async throws -> ChildStateFile.Generation? {
        let port: Int?
        let identity: ProcessIdentity?
        let cgroup: ProcessCgroup?
        do {
            port = try reservePort(id, config: config)
            try checkOutputFile(config.output.file)
            identity = try config.execution.identity()
            cgroup = try processCgroup(id, limits: config.execution.cgroupLimits)
        } catch {
            metrics.error(id, phase: .spawn)
            logger.error("cannot start", metadata: ["process": "\(id)", "error": "\(error)"])
            throw error
        }
        var environment = programEnvironment(config, port: port, identity: identity)
        if let command = config.execution.hooks?.preStart {
            do {
                try await runHook(.preStart, command: command, id: id, config: config, environment: environment, identity: identity, cgroup: cgroup)
            } catch {
                metrics.error(id, phase: .hook)
                logger.error("pre_start hook failed; the start fails", metadata: ["process": "\(id)", "error": "\(error)"])
                throw error
            }
        }
        var inherited: [FDMapping] = []
        var heartbeat: HeartbeatChannel?
        if config.heartbeat != nil {
            let channel = try HeartbeatChannel(reactor: services.capture.reactor)
            environment.merge(channel.environment) { _, new in new }
            inherited.append(channel.inheritedFD)
            heartbeat = channel
        }
        let notify: NotifySocket?
        do {
            notify = try makeNotifySocket(id, config: config)
        } catch {
            heartbeat?.close()
            metrics.error(id, phase: .spawn)
            logger.error("cannot create the NOTIFY_SOCKET", metadata: ["process": "\(id)", "error": "\(error)"])
            throw error
        }
        let output: AdoptableOutput.Ends?
        do {
            output = try services.adoptionOutputDirectory.map { directory throws(SystemError) in try AdoptableOutput.Ends.create(directory: directory, name: id) }
        } catch {
            heartbeat?.close()
            notify?.close()
            metrics.error(id, phase: .spawn)
            logger.error("cannot create the output FIFOs", metadata: ["process": "\(id)", "error": "\(error)"])
            throw error
        }
        if let notify { environment.merge(notify.environment) { _, new in new } }
        var spec = SpawnSpec(
            arguments: config.resolvedArguments(port: port),
            environment: environment,
            workingDirectory: config.workingDirectory,
            captureOutput: output == nil,
            inheritedFDs: inherited,
            killWithParent: services.killWithAgent,
            outputFDs: output?.child)
        // One descriptor per child: stderr through the shared sink, stdout its own pipe.
        spec.stderrThroughSink = true
        spec.identity = identity
        spec.resourceLimits = config.execution.resourceLimits
        let spawned: SpawnedProcess
        let oomKillsBefore = cgroup?.oomKills() ?? 0
        do {
            spawned = try await spawnInCgroup(spec, cgroup: cgroup)
        } catch {
            heartbeat?.childStarted()
            heartbeat?.close()
            notify?.close()
            output?.closeChildEnds()
            output?.discard()
            metrics.error(id, phase: .spawn)
            logger.error("spawn failed", metadata: ["process": "\(id)", "error": "\(error)"])
            throw error
        }
        heartbeat?.childStarted()
        output?.closeChildEnds()
        try? services.guardian?.register(pgid: spawned.pgid)
        var record = ChildRecord(name: id, process: spawned.handle)
        if let output {
            record.configFingerprint = config.fingerprint
            record.port = port
            record.stdoutPath = output.paths.stdoutPath
            record.stderrPath = output.paths.stderrPath
        }
        let recorded = services.stateFile?.record(record)
        let child = RunningChild(
            spawned: spawned, config: config, startedAt: ContinuousClock().now, heartbeat: heartbeat, adoptableOutput: output?.paths,
            notify: notify, cgroup: cgroup, oomKillsAtStart: oomKillsBefore)
        do {
            try began(id, child: child, stdout: output?.agent.stdout ?? spawned.stdoutFD, stderr: output?.agent.stderr ?? spawned.stderrFD)
        } catch {
            // Nobody reads its output (the capture closed the pipes): a program that runs on
            // like that blocks or dies on its next write while the API says running. It is
            // stopped now and the start counts as failed, so the engine retries with backoff
            // and shows the error.
            _ = await services.stopper.stop(spawned.handle, signal: SIGKILL, grace: .zero, cgroup: cgroup)
            release(child, id: id, status: await spawned.exit.wait())
            metrics.error(id, phase: .spawn)
            logger.error("cannot capture the output; program stopped", metadata: ["process": "\(id)", "error": "\(error)"])
            throw OutputCaptureError(process: id, underlying: error)
        }
        logger.info("started", metadata: ["process": "\(id)", "pid": "\(spawned.pid)", "port": "\(port.map(String.init) ?? "-")"])
        return recorded
    }

    /// The process's port, reserved at its first start and kept across restarts.
    private func reservePort(_ id: ProcessID, config: ManagedProcess) throws -> Int? {
        if let port = instances.withLock({ $0[id]?.port }) { return port }
        let port: Int?
        switch config.port {
        case .none: return nil
        case .auto: port = try services.ports.allocate()
        case .fixed(let fixed):
            try services.ports.reserve(fixed: fixed)
            port = fixed
        }
        update(id) { $0.port = port }
        return port
    }

    /// Opens (creating it) and closes the configured output file, so a start whose output
    /// cannot be written fails before anything is spawned, with the path in the error.
    private func checkOutputFile(_ file: OutputCapture.FileOutput?) throws(OutputFileError) {
        guard let file else { return }
        do {
            var writer = try RotatingFileWriter(path: file.path, maxBytes: file.maxBytes, keep: file.keep)
            writer.close()
        } catch {
            throw OutputFileError(path: file.path, underlying: error)
        }
    }

    /// Takes over a child that now runs (just spawned, or adopted): output capture, exit
    /// watching, probes, heartbeats. Throws when its output cannot be captured (the pipes are
    /// closed then; the caller decides the child's fate).
    func began(_ id: ProcessID, child: RunningChild, stdout: Int32?, stderr: Int32?, captureFile: Bool = true) throws(SystemError) {
        let config = child.config
        let spawned = child.spawned
        let (recent, outputLog, previous) = update(id) { instance in
            let recent = instance.recent ?? RecentLines(capacity: config.output.recentLines)
            instance.recent = recent
            // A logger that drops info lines would only count and note lines nobody sees.
            if instance.outputLog == nil, childOutputLogging.enabled, logger.logLevel <= .info {
                instance.outputLog = ChildOutputLog(
                    process: id, settings: childOutputLogging, logger: logger, suppressed: metrics.childOutputSuppressed.labels([id]))
            }
            defer { instance.output = nil }
            return (recent, instance.outputLog, instance.output)
        }
        previous?.detach()
        var captureConfiguration = config.output
        captureConfiguration.recentLines = 0  // kept across restarts in `recent` instead
        if !captureFile { captureConfiguration.file = nil }
        let output = try services.capture.attach(
            name: id, stdout: stdout, stderr: stderr, stderrRoute: stderr == nil ? spawned.stderrRoute : nil,
            configuration: captureConfiguration
        ) { line in
            recent.append(line)
            outputLog?.log(line)
        }
        update(id) { instance in
            instance.output = output
            instance.child = child
            instance.policy.started(at: child.startedAt, probed: config.liveness != nil)
            instance.notifyReady = config.notify == nil ? nil : false
        }
        try startNotify(id, child: child)
        // With a liveness probe, healthy only once the probe says so.
        metrics.healthy.labels([id]).set(config.liveness == nil ? 1 : 0)
        hooks.withLock { $0 }?.setHealthy(id, config.liveness == nil)
        hooks.withLock { $0 }?.programStarted(id, spawned.pid)
        startProbes(id, child: child)
        reportConditions(id)
        let hooks = self.hooks
        spawned.exit.onFulfill { _ in hooks.withLock { $0 }?.requestSync(id) }
        if let heartbeat = child.heartbeat, let settings = config.heartbeat {
            monitorJobsContinuation.yield(.heartbeat(HeartbeatJob(id: id, pid: spawned.pid, channel: heartbeat, settings: settings)))
        }
    }

    /// The child's group is gone: forget it everywhere, carry its CPU into the total, and let
    /// the policy count a decided restart's delay from now. Only if it is still the process's
    /// child: the record is updated in place, never replaced.
    func release(_ child: RunningChild, id: ProcessID, status: ProcessExitStatus) {
        child.heartbeat?.close()
        child.notify?.close()
        try? services.guardian?.unregister(pgid: child.spawned.pgid)
        services.stateFile?.forget(pid: child.spawned.pid)
        child.adoptableOutput?.remove()
        let released = update(id) { instance -> ChildOutputLog?? in
            guard instance.child === child else { return nil }
            instance.accumulatedCPUSeconds += instance.lastCPUSample
            instance.lastCPUSample = 0
            instance.child = nil
            instance.probes = nil
            instance.notifyReady = nil
            instance.lastExit = status
            instance.lastExitOOM = child.killedByOOM(status)
            instance.policy.stopped(at: .now)
            return .some(instance.outputLog)
        }
        guard let outputLog = released else { return }
        outputLog?.flush()
        probeScheduler.drop(id)
        metrics.healthy.labels([id]).set(0)
        let bound = hooks.withLock { $0 }
        bound?.programExited(id, child.spawned.pid, status)
        bound?.setHealthy(id, false)
        reportConditions(id)
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
                metrics.error(job.id, phase: .heartbeat)
                let restart = self.instances.withLock { instances -> Bool in
                    guard let child = instances[job.id]?.child, child.spawned.pid == job.pid else { return false }
                    _ = instances[job.id]?.policy.handle(.checkFailed(.heartbeat), rules: Policy.Rules(child.config), now: .now, random: self.random())
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
}

/// A monitor ``ProcessRuntime/run()`` hosts for one child.
enum MonitorJob: Sendable {
    case heartbeat(HeartbeatJob)
}

/// A heartbeat monitor to run for one child.
struct HeartbeatJob: Sendable {
    let id: ProcessID
    let pid: Int32
    let channel: HeartbeatChannel
    let settings: HeartbeatSettings
}
