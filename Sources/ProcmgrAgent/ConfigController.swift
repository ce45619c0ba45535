public import Foundation
public import Logging
public import ProcmgrConfig
import ProcmgrEngine
import ProcmgrSupport
public import ProcmgrHTTP

/// Owns the agent's current config and applies new ones, one at a time.
///
/// Every source of change ends here: the first load, SIGHUP, a file change, `POST /-/reload`
/// and admin-service responses. A new config is validated whole before anything is touched; an
/// invalid one is rejected, logged and counted (`procmgr_config_reloads_total{result="failure"}`)
/// while the processes keep running as they were. Either way a `reload` event says so, with the
/// problems and the source (file, admin, api, signal). Being an actor, it serialises reloads, so two
/// triggers arriving at once cannot interleave their engine updates.
public actor ConfigController {
    /// The result of one load attempt.
    public enum Outcome: Sendable {
        case applied(ReconcileSummary)
        case rejected(ConfigError)
    }

    private let origin: ConfigOrigin
    private let reconciler: Reconciler
    private let metrics: AgentMetrics
    private let logger: Logger
    private let environment: [String: String]
    private let wallClock: @Sendable () -> Double
    private let events: EventJournal?
    /// The local config last applied.
    public private(set) var current: AgentConfig?
    /// The admin-service response last accepted (admin mode), merged under every local reload.
    private var adminBody: Data?
    /// The fleet's desired-state keys last delivered (etcd mode), merged under every local reload.
    private var fleetEntries: [FleetEntry]?
    /// The keys rejected at the last fleet merge, with why: each is logged once, when it turns bad.
    private var rejectedFleetKeys: [String: String] = [:]
    private let fleetMetrics: FleetMetrics?
    /// The env files of the processes last applied; read by the file watcher from its own task.
    private let envFiles = LockedState<[String]>([])
    /// Every desired set must fit the agent's open-file limit (``DescriptorBudget``).
    private let descriptors: DescriptorCheck?

    public init(
        origin: ConfigOrigin, reconciler: Reconciler, metrics: AgentMetrics, logger: Logger,
        environment: [String: String], events: EventJournal? = nil, fleetMetrics: FleetMetrics? = nil,
        descriptors: DescriptorCheck? = nil,
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.descriptors = descriptors
        self.fleetMetrics = fleetMetrics
        self.events = events
        self.origin = origin
        self.reconciler = reconciler
        self.metrics = metrics
        self.logger = logger
        self.environment = environment
        self.wallClock = wallClock
    }

    /// Re-reads the local config and applies it (with the last admin response, in admin mode).
    @discardableResult
    public func reload(trigger: ReloadTrigger) -> Outcome {
        let config: AgentConfig
        let specs: [ProcessSpec]
        do throws(ConfigError) {
            config = try origin.load()
            specs = try desiredProcesses(config: config, adminBody: adminBody, fleetEntries: fleetEntries)
        } catch {
            return reject(error, trigger: trigger)
        }
        if let current, current.agent != config.agent {
            logger.warning("agent settings changed; they take effect when the agent restarts (processes are reloaded now)",
                           metadata: ["config": "\(origin.name)"])
        }
        current = config
        return accept(specs, trigger: trigger)
    }

    /// Applies an admin-service response. Returns whether it was valid (and applied): only an
    /// accepted response may become the cached "last good".
    public func applyAdmin(_ body: Data, trigger: ReloadTrigger) -> Bool {
        guard let config = current else { return false }
        do throws(ConfigError) {
            let specs = try desiredProcesses(config: config, adminBody: body, fleetEntries: nil)
            adminBody = body
            _ = accept(specs, trigger: trigger)
            return true
        } catch {
            _ = reject(error, trigger: trigger)
            return false
        }
    }

    /// Applies the fleet's desired state from etcd: keys that are invalid on their own are left
    /// out (logged with their key, counted in `procmgr_fleet_rejected_keys`) and the rest runs.
    /// Returns false only when the local file's overrides make the whole set invalid.
    public func applyFleet(_ entries: [FleetEntry], trigger: ReloadTrigger) -> Bool {
        guard let config = current else { return false }
        do throws(ConfigError) {
            let specs = try desiredProcesses(config: config, adminBody: nil, fleetEntries: entries)
            fleetEntries = entries
            _ = accept(specs, trigger: trigger)
            return true
        } catch {
            _ = reject(error, trigger: trigger)
            return false
        }
    }

    private func desiredProcesses(config: AgentConfig, adminBody: Data?, fleetEntries: [FleetEntry]?) throws(ConfigError) -> [ProcessSpec] {
        let specs = try desiredSpecs(config: config, adminBody: adminBody, fleetEntries: fleetEntries)
        try descriptors?.check(specs)
        return specs
    }

    private func desiredSpecs(config: AgentConfig, adminBody: Data?, fleetEntries: [FleetEntry]?) throws(ConfigError) -> [ProcessSpec] {
        if config.agent.etcd != nil {
            // As in admin mode: before etcd (or its cache) answered, run nothing.
            guard let fleetEntries else { return [] }
            let merge = try ConfigLoader.mergeFleet(fleetEntries, into: config, scope: .schemaAndFilesystem)
            noteRejected(merge.rejected)
            return merge.specs
        }
        guard config.agent.admin != nil else { return config.processes }
        // Before the first admin response the local overrides alone are not a complete config:
        // run nothing rather than half-configured processes.
        guard let adminBody else { return [] }
        return try ConfigLoader.mergeAdmin(response: adminBody, into: config, scope: .schemaAndFilesystem)
    }

    private func noteRejected(_ rejected: [(key: String, error: ConfigError)]) {
        var now: [String: String] = [:]
        for (key, error) in rejected {
            let problems = error.lines.joined(separator: "; ")
            now[key] = problems
            if rejectedFleetKeys[key] != problems {
                logger.error("fleet key rejected; the other keys are applied", metadata: ["key": "\(key)", "problems": "\(problems)"])
            }
        }
        for key in rejectedFleetKeys.keys where now[key] == nil {
            logger.notice("fleet key no longer rejected", metadata: ["key": "\(key)"])
        }
        rejectedFleetKeys = now
        fleetMetrics?.setRejectedKeys(now.count)
    }

    /// The env files the last applied config read (local or merged with the admin service's):
    /// the file watcher watches them beside the config file, since a change to one is a config
    /// change for the processes that read it.
    public nonisolated var watchedFiles: [String] { envFiles.withLock { $0 } }

    private func accept(_ specs: [ProcessSpec], trigger: ReloadTrigger) -> Outcome {
        envFiles.withLock { $0 = specs.watchedFiles }
        let summary = reconciler.apply(specs, environment: environment)
        metrics.recordReload(success: true, at: wallClock())
        logger.info("config applied", metadata: ["trigger": "\(trigger.rawValue)", "config": "\(origin.name)", "changes": "\(summary)"])
        events?.publish(.reload(applied: true, problems: [], source: ReloadSource(trigger)))
        return .applied(summary)
    }

    private func reject(_ error: ConfigError, trigger: ReloadTrigger) -> Outcome {
        metrics.recordReload(success: false, at: wallClock())
        logger.error("config rejected; processes keep running unchanged",
                     metadata: ["trigger": "\(trigger.rawValue)", "config": "\(origin.name)", "problems": "\(error.lines.joined(separator: "; "))"])
        events?.publish(.reload(applied: false, problems: error.lines, source: ReloadSource(trigger)))
        return .rejected(error)
    }
}
