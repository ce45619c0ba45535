import AsyncHTTPClient
import Foundation
import Glibc
import Hummingbird
public import Logging
public import ProcmgrConfig
import ProcmgrEngine
public import ProcmgrHTTP
public import ProcmgrMetrics
import ProcmgrRuntime
import ProcmgrSupport
public import ServiceLifecycle
import UnixSignals

/// The procmgr agent: loads the config, keeps the engine's workers matching it, reloads it live,
/// and shuts everything down in order. A `Service`: `procmgr run` puts it in a `ServiceGroup` after
/// the HTTP server (``makeHTTPServer(onListening:)``), so at SIGTERM the group shuts the agent
/// down first (every process terminated within `shutdown_grace_period`, dependents before their
/// dependencies, in parallel otherwise) and the API
/// last, and /metrics keeps answering while processes stop.
///
/// With `orphans: adopt` a shutdown leaves the processes running, recorded in the state file, and
/// the next agent adopts them (only a second signal kills them).
///
/// Signals: the first SIGTERM/SIGINT is the group's graceful shutdown; the agent watches them too
/// and at the second one SIGKILLs every process group at once, which lets the shutdown finish at
/// once. Cancellation (an embedding group giving up) does the same. SIGHUP reloads the config.
public final class Agent: Service {
    public let registry: MetricsRegistry
    public let api: AgentAPI
    /// Lifecycle events for `GET /api/v1/events`, counted in `procmgr_events_total`.
    public let events: EventJournal
    public let controller: ConfigController
    public let config: AgentConfig
    private let options: AgentOptions
    private let engine: AgentEngine
    private let runtime: ProcessRuntime
    /// The runtime's one reactor thread, shared with the config file watcher.
    private let reactor: EpollThread
    /// Whether each program gets a cgroup (and so an OOM watch descriptor).
    private let cgroupsEnabled: Bool
    private let reconciler: Reconciler
    /// Holds back starts until their `depends_on` conditions hold; orders stops.
    private let dependencies: DependencyCoordinator
    private let logger: Logger
    private let lock: StateDirectoryLock
    /// The admin-service source and the HTTP client it polls with (`agent.admin`), if configured.
    private let admin: (source: AdminSource, client: HTTPClient)?
    /// The fleet membership on etcd (`agent.etcd`), if configured.
    private let fleet: FleetMembership?
    /// The API's base URL as other machines reach it (the listen address, the host name for a
    /// wildcard one): what the fleet registration advertises unless `agent.etcd.api_url` is set.
    private let advertisedURL = LockedState<String?>(nil)
    /// The API's bearer token (`agent.token_file`), re-read on SIGHUP and when the file changes.
    private let apiToken: APIToken
    /// Set by ``makeHTTPServer(onListening:)``: the first process starts only once the API
    /// listens, so an address in use is an error before anything was started. `nil` for an
    /// agent run without the API (benchmarks): it starts at once.
    private let listenerGate = LockedState<ListenerGate?>(nil)

    /// Validates the config and sets up the runtime; starts no process yet (that is ``run()``).
    /// - Throws: ``ConfigError`` for an invalid config, ``AgentStartupError`` when the machine
    ///   does not allow the setup (state dir, another agent, subreaper, token file).
    public init(options: AgentOptions, logger: Logger) async throws {
        let config = try options.origin.load()
        self.config = config
        self.options = options
        self.logger = logger
        if let raise = DescriptorLimit.raise() {
            var metadata: Logger.Metadata = ["from": "\(raise.from)", "to": "\(raise.to)"]
            if let hardFrom = raise.hardFrom { metadata["hard_from"] = "\(hardFrom)" }
            logger.info("raised the open-file limit", metadata: metadata)
        }
        // Before anything starts: a config that cannot fit the limit is refused here, whole
        // (cgroup watches are counted again at every apply, once the runtime knows).
        if let problem = DescriptorBudget(specs: config.processes, cgroups: false, adoptableOutput: config.agent.orphans == .adopt)
            .problem(limit: DescriptorLimit.soft, attainable: DescriptorLimit.attainable) {
            throw ConfigError(code: .limit, problems: [problem])
        }
        apiToken = APIToken(try Self.readToken(config.agent.tokenFile))
        lock = try StateDirectoryLock(directory: config.agent.stateDir)
        let stateFile = (config.agent.stateDir as NSString).appendingPathComponent("children.json")
        if config.agent.orphans == .kill {
            // Children a previous agent left behind (its guardian was killed too, or it ran in
            // adopt mode) are not ours to keep: kill them before starting anew.
            let report = try await OrphanSweeper.sweep(stateFile: stateFile, logger: logger)
            if !report.killed.isEmpty {
                logger.warning("killed leftovers of a previous agent", metadata: ["groups": "\(report.killed.map(\.pgid))"])
            }
        }
        let services = try RuntimeServices.start(
            portRange: Int(config.agent.portRange.lower)...Int(config.agent.portRange.upper),
            stateFilePath: stateFile, killOrphans: config.agent.orphans == .kill,
            cgroupName: CgroupSubtreeName.forStateDirectory(URL(fileURLWithPath: config.agent.stateDir).standardizedFileURL.path), logger: logger)
        if config.agent.orphans == .kill {
            try services.stateFile?.replaceAll([])
            // What a previous agent left in its cgroups (it died with its guardian): members
            // that left their process group too, which the state file's sweep cannot reach.
            _ = services.cgroups?.sweepLeftovers(keeping: [])
        }
        let registry = MetricsRegistry { [logger] misuse in logger.error("metrics misuse", metadata: ["error": "\(misuse)"]) }
        self.registry = registry
        try ProcessSelfMetrics.register(in: registry)
        let metrics = try AgentMetrics(registry: registry, version: ProcmgrVersion.current)
        runtime = try ProcessRuntime(
            services: services, registry: registry, logger: logger,
            childOutputLogging: ChildOutputLogging(enabled: config.agent.logChildOutput))
        reactor = services.reactor
        cgroupsEnabled = services.cgroups != nil
        if config.agent.orphans == .adopt {
            // Before the first update: the first sync of each id then adopts its child.
            let adoptable = try runtime.loadAdoptable()
            _ = services.cgroups?.sweepLeftovers(keeping: Set(adoptable.map(\.name)))
            if !adoptable.isEmpty {
                logger.notice("children of a previous agent found for adoption", metadata: ["count": "\(adoptable.count)"])
            }
        }
        var engineConfiguration = EngineConfiguration()
        // Finished workers that are still desired (stopped through the API, `restart: never`)
        // stay visible; those no longer desired are purged by housekeeping.
        engineConfiguration.finishedRetention = .seconds(24 * 3600)
        engine = try AgentEngine(syncer: runtime, clock: ContinuousClock(), configuration: engineConfiguration,
                                 registry: registry, logger: logger)
        let dependencies = try DependencyCoordinator.connecting(runtime, to: engine, registry: registry, logger: logger)
        self.dependencies = dependencies
        let events = try EventJournal(registry: registry, firstID: StreamRing<AgentEvent>.epochID())
        self.events = events
        let lifecycle = LifecycleEvents(journal: events) { [weak runtime] in runtime?.conditions(of: $0) }
        engine.observeStates { lifecycle.stateEntered($0) }
        dependencies.observeWaits { events.publish(.dependencyWait($0)) }
        let readiness = EngineServingReadiness(engine: engine, runtime: runtime)
        reconciler = try Reconciler(
            engine: engine, runtime: runtime, registry: registry, readiness: readiness, jobClock: options.jobClock,
            dependencies: dependencies, logger: logger)
        runtime.bind(Self.engineHooks(engine: engine, dependencies: dependencies, rollouts: reconciler.rollouts, events: lifecycle))
        let fleet = try config.agent.etcd.map {
            try FleetMembership(spec: $0, registry: registry, startTime: Date().timeIntervalSince1970, logger: logger)
        }
        self.fleet = fleet
        let controller = ConfigController(
            origin: options.origin, reconciler: reconciler, metrics: metrics, logger: logger,
            environment: ProcessInfo.processInfo.environment, events: events, fleetMetrics: fleet?.metrics,
            descriptors: DescriptorCheck(cgroups: services.cgroups != nil, adoptableOutput: config.agent.orphans == .adopt))
        self.controller = controller
        if let spec = config.agent.admin {
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            admin = (try AdminSource(spec: spec, client: client, logger: logger, registry: registry), client)
        } else {
            admin = nil
        }
        var fleetTargets: (@Sendable () -> FleetTargetsAnswer)?
        if let fleet { fleetTargets = { fleet.targets() } }
        api = AgentAPI(
            engine: engine, runtime: runtime, reconciler: reconciler, dependencies: dependencies, registry: registry, readiness: readiness,
            events: events, fleetTargets: fleetTargets
        ) {
            await controller.reload(trigger: .api)
        }
    }

    /// The HTTP API as a Hummingbird application, listening where the options or the config say.
    /// `onListening` receives the base URL once the socket is bound (port 0 resolved).
    ///
    /// Run it beside the agent (one `ServiceGroup`): the agent starts no process until it
    /// listens. If it cannot, it throws ``ListenError`` (`listen 127.0.0.1:9464: address already
    /// in use`), the group cancels the waiting agent, and nothing was started.
    ///
    /// Its connection cap is what is left of the descriptor limit after a reserve for supervising
    /// the configured processes (``ConnectionBudget``).
    public func makeHTTPServer(onListening: @escaping @Sendable (String) -> Void) throws -> some Service {
        let host = options.listenHost ?? config.agent.listen.host
        let port = options.listenPort ?? Int(config.agent.listen.port)
        let budget = ConnectionBudget(
            configured: ConnectionBudget.defaultMaxConnections, descriptorLimit: DescriptorLimit.soft,
            reserved: DescriptorBudget(specs: config.processes, cgroups: cgroupsEnabled, adoptableOutput: config.agent.orphans == .adopt).supervision)
        if budget.maxConnections < ConnectionBudget.defaultMaxConnections {
            logger.warning("the open-file limit leaves the API fewer connections than usual", metadata: [
                "max_connections": "\(budget.maxConnections)", "reserved_for_supervision": "\(budget.reserved)",
                "open_file_limit": "\(DescriptorLimit.soft)"])
        }
        let gate = ListenerGate()
        listenerGate.withLock { $0 = gate }
        return try AgentHTTPServer.makeApplication(
            configuration: APIServerConfiguration(host: host, port: port, token: apiToken, maxConnections: budget.maxConnections),
            backend: api, registry: registry, logger: logger
        ) { channel in
            let bound = channel.localAddress?.port ?? port
            let shown = host.contains(":") ? "[\(host)]" : host
            let wildcard = host == "0.0.0.0" || host == "::" || host.isEmpty
            self.advertisedURL.withLock { $0 = "http://\(wildcard ? ProcessInfo.processInfo.hostName : shown):\(bound)" }
            gate.open()
            onListening("http://\(shown):\(bound)")
        }
    }

    public func run() async throws {
        if let gate = listenerGate.withLock({ $0 }), await !gate.waitUntilOpen() {
            // Cancelled before the API listened (it could not: the group reports why).
            try? await admin?.client.shutdown()
            await fleet?.shutdown()
            return
        }
        let outcome = await controller.reload(trigger: .startup)
        if case .rejected(let error) = outcome {
            // Validated in init; only a file changed in between can get here.
            throw error
        }
        // Complete: the desired state is known (in admin mode, only once an admin body was
        // accepted). Sweeping adoptable children against an incomplete one would kill them all.
        var complete = admin == nil && fleet == nil
        if let fleet {
            // Registration first: a second agent for this node refuses here, before running anything.
            do {
                let apiURL = advertisedURL.withLock { $0 } ?? "http://\(config.agent.listen.host):\(config.agent.listen.port)"
                complete = try await fleet.start(apiURL: apiURL, controller: controller)
            } catch {
                await fleet.shutdown()
                // Another live agent holds this node: nothing was started.
                throw AgentStartupError("\(error)")
            }
            if complete { api.markReady() }
        } else if let admin {
            // Ready only with a complete config: in admin mode, the first admin body (live or
            // from the cache of an earlier run) is it.
            do {
                _ = try await admin.source.initial { body in
                    await self.controller.applyAdmin(body.data, trigger: body.fromCache ? .adminCache : .admin)
                }
                api.markReady()
                complete = true
            } catch {
                logger.error("no admin config yet; running nothing and polling until the admin service answers", metadata: ["error": "\(error)"])
            }
        } else {
            api.markReady()
        }
        if config.agent.orphans == .adopt, complete {
            let swept = await runtime.sweepUnclaimedAdoptable(keeping: reconciler.specs().map(\.id))
            if !swept.isEmpty {
                logger.notice("killed adoptable children no process claims", metadata: ["groups": "\(swept.map(\.pgid))"])
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.engine.run() }
            group.addTask { await self.runtime.run() }
            group.addTask { await self.reloadOnSIGHUP() }
            if let tokenFile = config.agent.tokenFile {
                let watcher = ConfigFileWatcher(path: tokenFile, interval: .seconds(1), reactor: reactor)
                group.addTask { await watcher.run { self.rereadToken() } }
            }
            group.addTask { await self.killOnSecondStopSignal() }
            group.addTask { await self.housekeeping() }
            group.addTask { await self.reconciler.handleRemovals() }
            group.addTask { await self.reconciler.jobs.run() }
            group.addTask { await self.reconciler.rollouts.run() }
            if let admin {
                group.addTask {
                    await admin.source.run { body in
                        let accepted = await self.controller.applyAdmin(body.data, trigger: .admin)
                        if accepted { self.api.markReady() }
                        return accepted
                    }
                }
            }
            if let fleet {
                let api = api
                group.addTask {
                    await fleet.run(controller: self.controller, events: self.events, statuses: {
                        await api.processes().map(FleetProcessStatus.init(view:))
                    }, onApplied: { api.markReady() })
                }
            }
            if let path = options.origin.watchedPath, let interval = options.fileCheckInterval {
                let controller = controller
                let watcher = ConfigFileWatcher(path: path, interval: interval, reactor: reactor,
                                                alsoWatching: { controller.watchedFiles })
                group.addTask { await watcher.run { await controller.reload(trigger: .fileChange) } }
            }
            await withTaskCancellationHandler {
                try? await gracefulShutdown()
            } onCancel: {
                self.killEverythingNow()
            }
            if !Task.isCancelled {
                if config.agent.orphans == .adopt {
                    // Adoption exists so that an agent restart (an upgrade, a config change of the
                    // agent itself) does not restart the services: leave them to the next agent.
                    logger.notice("shutting down; orphans: adopt leaves every process running for the next agent")
                } else {
                    await shutDownProcesses()
                    runtime.removeCgroupSubtree()
                }
            }
            runtime.flushStateFile()
            // Processes are stopped (or left for adoption): the registration and status go now.
            await fleet?.stop()
            group.cancelAll()
        }
        try? await admin?.client.shutdown()
        await fleet?.shutdown()
    }

    /// The runtime's hooks as the agent wires them: the engine; every flip of a process's
    /// conditions (reported outside the runtime's lock) to the dependency coordinator, the
    /// rolling restarts and the readiness events; exits, restarts and probe flips to the event
    /// stream. Replaces the binding `DependencyCoordinator.connecting` made.
    private static func engineHooks(
        engine: AgentEngine, dependencies: DependencyCoordinator, rollouts: RolloutDriver, events: LifecycleEvents
    ) -> ProcessRuntime.EngineHooks {
        ProcessRuntime.EngineHooks(
            requestSync: { [weak engine] in engine?.requestSync($0) },
            recordRestart: { [weak engine] id, reason in
                let restarts = engine?.recordRestart(id)
                events.restartDecided(id, reason: reason, restarts: restarts)
            },
            setHealthy: { [weak engine] id, healthy in engine?.setHealthy(id, healthy) },
            conditionsChanged: { [weak dependencies] id in
                // The readiness event first: a dependent released by this change says so after it.
                events.conditionsChanged(id)
                dependencies?.conditionsChanged(id)
                rollouts.observe(id)
            },
            programExited: { id, pid, status in events.programExited(id, pid: pid, status: status) },
            probeFlipped: { id, flip in events.probeFlipped(id, flip) },
            programStarted: { id, pid in events.programStarted(id, pid: pid) },
            oomKilled: { id, kills in events.oomKilled(id, kills: kills) })
    }

    // MARK: Shutdown

    /// Terminates every process, dependents before what they depend on (each level in parallel,
    /// processes without dependency relations in the first), each with its own grace period capped
    /// by what is left of `shutdown_grace_period`; whatever is still alive at the deadline is
    /// SIGKILLed.
    private func shutDownProcesses() async {
        let grace = config.agent.shutdownGracePeriod
        let order = StopOrder(stopping: engine.statuses().map(\.id), graph: dependencies.graph)
        logger.notice("shutting down: terminating every process", metadata: ["grace": "\(grace)", "levels": "\(order.levels.count)"])
        let report = await withTaskCancellationHandler {
            // One extra second: the runtime itself SIGKILLs each group at its grace period.
            await engine.shutdown(gracePeriod: grace, deadline: grace + .seconds(1), order: order.levels)
        } onCancel: {
            self.killEverythingNow()
        }
        if !report.stragglers.isEmpty { killEverythingNow() }
        logger.notice("all processes terminated", metadata: ["terminated": "\(report.terminated.count)", "stragglers": "\(report.stragglers)"])
    }

    private func killEverythingNow() {
        let groups = runtime.killAllGroups()
        logger.warning("SIGKILLed every process group", metadata: ["groups": "\(groups)"])
    }

    /// The service group starts the graceful shutdown at the first SIGTERM/SIGINT; an operator
    /// who signals again wants everything gone now.
    private func killOnSecondStopSignal() async {
        var seen = 0
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            seen += 1
            if seen >= 2 {
                logger.warning("second stop signal", metadata: ["signal": "\(signal)"])
                killEverythingNow()
            }
        }
    }

    // MARK: Background duties

    private func reloadOnSIGHUP() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            rereadToken()
            await controller.reload(trigger: .sighup)
        }
    }

    /// A rotated token file takes effect at once: from now on only its token is accepted. A file
    /// that cannot be read or is empty (mid-rotation, removed) keeps the current token: falling
    /// back to "no token" would open the mutating API.
    private func rereadToken() {
        guard let path = config.agent.tokenFile else { return }
        do {
            apiToken.replace(with: try Self.readToken(path))
            logger.info("API token re-read", metadata: ["token_file": "\(path)"])
        } catch {
            logger.warning("API token file not re-read; the current token stays", metadata: ["error": "\(error)"])
        }
    }

    private func housekeeping() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: options.housekeepingInterval) } catch { return }
            reconciler.housekeeping()
        }
    }

    private static func readToken(_ path: String?) throws -> String? {
        try path.map { path throws(AgentStartupError) in try SecretFile.read(path, key: "agent.token_file") }
    }
}
