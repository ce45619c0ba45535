import Logging
public import ProcmgrEngine

/// What a due probe needs, read from the process's record when it is due.
struct ProbeJob: Sendable {
    let key: ProbeKey
    let settings: ProbeSettings
    let processPort: Int?
    let environment: [String: String]
    let workingDirectory: String?
}

/// The three actions, over shared resources: one HTTP client, the epoll thread, the spawn thread.
struct ProbeActions: Sendable {
    let http: HTTPProbe
    let tcp: TCPProbe
    let exec: ExecProbe

    func perform(_ job: ProbeJob) async -> ProbeResult {
        let settings = job.settings
        switch settings.action {
        case .http(let path, _, let headers):
            guard let port = settings.port(processPort: job.processPort) else { return .failure }
            return await http.check(port: port, path: path, headers: headers, timeout: settings.timeout)
        case .tcp:
            guard let port = settings.port(processPort: job.processPort) else { return .failure }
            return await tcp.check(port: port, timeout: settings.timeout)
        case .exec(let command):
            var environment = job.environment
            if let port = job.processPort { environment["PORT"] = "\(port)" }
            return await exec.check(
                command, process: job.key.process, environment: environment, workingDirectory: job.workingDirectory, timeout: settings.timeout)
        }
    }
}

extension ManagedProcess {
    /// The settings of one of its probes.
    func probe(_ kind: ProbeSettings.Kind) -> ProbeSettings? {
        switch kind {
        case .liveness: liveness
        case .readiness: readiness
        case .startup: startup
        }
    }
}

extension ProcessRuntime {
    /// Checks running at once, at most: enough for a thousand 1 s checks every 10 s, and a bound
    /// on the spawns, sockets and requests a burst of due probes can hold.
    static let probeConcurrency = 64

    /// The one driver of every probe: takes due keys from the scheduler and runs their checks,
    /// at most ``probeConcurrency`` at a time, until ``run()`` is cancelled.
    func driveProbes(_ actions: ProbeActions) async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await key in probeScheduler.due {
                guard let job = probeJob(for: key) else { continue }
                if inFlight >= Self.probeConcurrency, await group.next() != nil { inFlight -= 1 }
                inFlight += 1
                group.addTask { await self.check(job, actions: actions) }
            }
            group.cancelAll()
        }
    }

    /// A child just began: its verdicts start afresh and its first probes are scheduled
    /// (startup alone, or liveness and readiness after their initial delays).
    func startProbes(_ id: ProcessID, child: RunningChild) {
        let config = child.config
        let verdict = ProbeVerdict(liveness: config.liveness, readiness: config.readiness, startup: config.startup)
        let port = update(id) { instance -> Int? in
            instance.probes = verdict
            return instance.port
        }
        for kind in ProbeSettings.Kind.allCases {
            guard let settings = config.probe(kind) else { continue }
            if case .exec = settings.action { continue }
            if settings.port(processPort: port) == nil {
                logger.warning("\(kind.rawValue) probe needs a port and the process has none (port:); every check fails", metadata: ["process": "\(id)"])
            }
        }
        schedule(verdict.activeKinds, id: id, child: child)
    }

    /// First checks are due `initial_delay` after the program started (at once if that passed).
    private func schedule(_ kinds: [ProbeSettings.Kind], id: ProcessID, child: RunningChild) {
        let running = child.startedAt.duration(to: ContinuousClock().now)
        for kind in kinds {
            guard let settings = child.config.probe(kind) else { continue }
            probeScheduler.schedule(ProbeKey(process: id, pid: child.spawned.pid, kind: kind), after: settings.initialDelay - running)
        }
    }

    /// The job for a due key, if the key's child still runs, no restart is pending and the probe
    /// is active for it (startup passed, or not yet for startup).
    private func probeJob(for key: ProbeKey) -> ProbeJob? {
        instances.withLock { instances -> ProbeJob? in
            guard let instance = instances[key.process], let child = current(key, in: instance),
                  instance.probes?.isActive(key.kind) == true, let settings = child.config.probe(key.kind) else { return nil }
            return ProbeJob(
                key: key, settings: settings, processPort: instance.port, environment: child.config.environment,
                workingDirectory: child.config.workingDirectory)
        }
    }

    private func current(_ key: ProbeKey, in instance: RuntimeInstance) -> RunningChild? {
        guard let child = instance.child, child.spawned.pid == key.pid, child.spawned.exit.value == nil, instance.policy.pending == nil else { return nil }
        return child
    }

    /// Runs one check and applies its result: counted, fed to the verdict, its effects performed
    /// (healthy and ready flips, a restart), the next check scheduled one interval after this
    /// one started.
    ///
    /// Why the identity check under the lock: the child may exit or be restarted while a check is
    /// in flight; only the child it was run for, still running, may change the verdicts.
    private func check(_ job: ProbeJob, actions: ProbeActions) async {
        let clock = ContinuousClock()
        let started = clock.now
        let result = await actions.perform(job)
        let elapsed = started.duration(to: clock.now)
        if Task.isCancelled { return }
        let key = job.key
        let id = key.process
        let applied = instances.withLock { instances -> (effects: [ProbeVerdict.Effect], child: RunningChild, active: Bool)? in
            guard let instance = instances[id], let child = current(key, in: instance) else { return nil }
            metrics.probeChecks.labels([id, key.kind.rawValue, result.rawValue]).increment()
            metrics.probeDuration.labels([id, key.kind.rawValue, result.rawValue]).observe(elapsed)
            if key.kind == .liveness { metrics.healthChecks.labels([id, result.rawValue]).increment() }
            if result != .success { metrics.error(id, phase: .health) }
            let effects = instances[id]?.probes?.record(key.kind, result) ?? []
            for effect in effects {
                switch effect {
                case .healthy(let healthy):
                    // The engine is told inside the lock, so gauge, engine and record agree.
                    if healthy { instances[id]?.policy.becameHealthy(at: clock.now) }
                    metrics.healthy.labels([id]).set(healthy ? 1 : 0)
                    hooks.withLock { $0 }?.setHealthy(id, healthy)
                case .restart(let check):
                    _ = instances[id]?.policy.handle(.checkFailed(check), rules: Policy.Rules(child.config), now: clock.now, random: random())
                case .ready, .startupPassed:
                    break
                }
            }
            return (effects, child, instances[id]?.probes?.isActive(key.kind) == true)
        }
        guard let applied else { return }
        if applied.active { probeScheduler.schedule(key, after: job.settings.interval - elapsed) }
        let flips = applied.effects.compactMap { $0.flip(result: result) }
        if !flips.isEmpty, let bound = hooks.withLock({ $0 }) {
            for flip in flips { bound.probeFlipped(id, flip) }
        }
        for effect in applied.effects {
            switch effect {
            case .startupPassed:
                logger.info("startup probe passed", metadata: ["process": "\(id)"])
                schedule([ProbeSettings.Kind.liveness, .readiness].filter { applied.child.config.probe($0) != nil }, id: id, child: applied.child)
            case .healthy(true):
                // A sync now lets the restart backoff start counting toward its reset.
                hooks.withLock { $0 }?.requestSync(id)
            case .healthy(false):
                break
            case .ready(let ready):
                logger.info(ready ? "ready" : "not ready: readiness probe failing", metadata: ["process": "\(id)", "result": "\(result.rawValue)"])
            case .restart(let check):
                logger.warning(
                    "\(check.rawValue) probe failed \(job.settings.failureThreshold) times in a row; stopping the program (restart: decides whether it starts again)",
                    metadata: ["process": "\(id)", "result": "\(result.rawValue)"])
                hooks.withLock { $0 }?.requestSync(id)
            }
        }
        reportConditions(id)
    }

    // MARK: Conditions

    /// What dependency conditions are computed from; kept after the worker ended (a finished
    /// job's `lastExitSucceeded`). nil for an unknown id.
    public func conditions(of id: ProcessID) -> ProcessConditions? {
        instances.withLock { $0[id]?.conditions }
    }

    /// The notify listener saw READY=1 (true) or a new child began with notify on (false) for
    /// the child `pid`; ignored for any other child.
    public func setNotifyReady(_ id: ProcessID, pid: Int32, _ ready: Bool) {
        let applied = instances.withLock { instances -> Bool in
            guard instances[id]?.child?.spawned.pid == pid else { return false }
            instances[id]?.notifyReady = ready
            return true
        }
        if applied { reportConditions(id) }
    }

    /// Sets the ready gauge and, when any condition flipped since the last report, tells the
    /// engine hook (outside the lock). Called after every change that can flip one: spawn,
    /// exit, probe results, READY=1.
    func reportConditions(_ id: ProcessID) {
        let changed = instances.withLock { instances -> Bool in
            guard let instance = instances[id], !instance.terminated else { return false }
            let conditions = instance.conditions
            metrics.ready.labels([id]).set(conditions.ready ? 1 : 0)
            guard conditions != instance.reportedConditions else { return false }
            instances[id]?.reportedConditions = conditions
            return true
        }
        if changed { hooks.withLock { $0 }?.conditionsChanged(id) }
    }
}
