import Foundation
import Logging
import ProcmgrConfig
import ProcmgrEngine
import ProcmgrEtcd
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport

/// Everything one agent does as a member of a fleet on etcd (`agent.etcd`, SPEC §3.6): the
/// desired state source, the registration under a lease, the status write-back and the
/// directory of the other agents for discovery — one etcd client for all of them.
///
/// Order at start (`start`): register first — a second agent for the same node must refuse
/// before it runs anything — then the first desired state (live, else the cache). etcd being
/// down at start is not fatal: the agent starts from its cache and registers once etcd answers.
/// At a clean stop (`stop`) the lease is revoked, so the registration and the status keys go at
/// once; a SIGKILLed agent's go at lease expiry.
final class FleetMembership: Sendable {
    let keys: FleetKeys
    let metrics: FleetMetrics
    private let client: EtcdClient
    private let source: FleetSource
    private let registration: FleetRegistration
    private let statusWriter: FleetStatusWriter
    private let directory: FleetDirectory
    private let logger: Logger

    /// - Throws: ``AgentStartupError`` when `password_file` cannot be read.
    init(spec: EtcdSourceSpec, registry: MetricsRegistry, startTime: Double, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "etcd_node"] = "\(spec.node)"
        self.logger = logger
        metrics = try FleetMetrics(registry: registry)
        keys = FleetKeys(prefix: spec.prefix, node: spec.node)
        let password = try spec.passwordFile.map { path throws(AgentStartupError) in
            try SecretFile.read(path, key: "agent.etcd.password_file")
        }
        client = EtcdClient(configuration: EtcdClientConfiguration(
            endpoints: spec.endpoints, username: spec.username, password: password,
            tls: spec.tls.map { EtcdTLSFiles(caFile: $0.caFile, certFile: $0.certFile, keyFile: $0.keyFile) }),
            logger: logger)
        source = FleetSource(spec: spec, client: client, metrics: metrics, logger: logger)
        registration = FleetRegistration(
            keys: keys, ttl: spec.leaseTTL,
            record: FleetRegistrationRecord(node: spec.node, apiURL: spec.advertiseURL?.absoluteString ?? "",
                                            version: ProcmgrVersion.current, startTime: startTime, processes: 0),
            client: client, metrics: metrics, logger: logger)
        statusWriter = FleetStatusWriter(keys: keys, client: client, registration: registration, metrics: metrics, logger: logger)
        directory = FleetDirectory(keys: keys, client: client, metrics: metrics, logger: logger, backoff: FleetSource.Tuning().backoff)
        metrics.setRegistered(false)
        metrics.setConnected(false)
    }

    /// Registers (refusing when a live agent holds the node) and applies the first desired state.
    /// - Parameter apiURL: where this agent's API listens, registered unless `api_url` is set.
    /// - Returns: whether a desired state (live or cached) was applied.
    /// - Throws: ``FleetRegistrationError`` when another live agent holds this node.
    func start(apiURL: String, controller: ConfigController) async throws(FleetRegistrationError) -> Bool {
        registration.setAPIURLIfUnset(apiURL)
        do {
            try await registration.register()
        } catch {
            guard error.unavailable else { throw error }
            logger.error("etcd unreachable at start: not registered yet; starting from the fleet cache and registering once etcd answers",
                         metadata: ["error": "\(error)"])
        }
        let accept: @Sendable (FleetDesiredState, Bool) async -> Bool = { desired, fromCache in
            await controller.applyFleet(desired.sortedEntries, trigger: fromCache ? .fleetCache : .fleet)
        }
        do {
            _ = try await source.initial(accept: accept)
            return true
        } catch {
            logger.error("no fleet state yet; running nothing until etcd answers", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Follows etcd until cancelled: desired state, keep-alives, status write-back, directory.
    /// `onApplied` runs after each applied desired state (the agent marks itself ready).
    func run(controller: ConfigController, events: EventJournal, statuses: @escaping @Sendable () async -> [FleetProcessStatus],
             onApplied: @escaping @Sendable () -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.source.run(deliver: { desired in
                    if await controller.applyFleet(desired.sortedEntries, trigger: .fleet) { onApplied() }
                }, onConnected: { self.metrics.setConnected($0) })
            }
            group.addTask { await self.registration.run() }
            group.addTask { await self.statusWriter.run(statuses: statuses) }
            group.addTask { await self.directory.run() }
            group.addTask { await self.followEvents(events) }
        }
    }

    /// Every lifecycle event may change a status: wake the writer (it coalesces).
    private func followEvents(_ events: EventJournal) async {
        while !Task.isCancelled {
            let (_, subscription) = events.ring.subscribe(after: nil)
            statusWriter.markDirty()
            loop: while let delivery = await subscription.next() {
                switch delivery {
                case .entries, .keepAlive: statusWriter.markDirty()
                case .overflowed: break loop  // fell behind a burst: subscribe again, flush everything
                }
            }
            subscription.cancel()
        }
    }

    /// At a clean stop: no more keep-alives or registrations; the lease is revoked.
    func stop() async {
        await registration.stop()
    }

    func shutdown() async {
        await client.shutdown()
    }

    /// `GET /api/v1/fleet/targets`.
    func targets() -> FleetTargetsAnswer {
        guard let agents = directory.agents else { return .notLoaded }
        return .targets(agents.keys.sorted().compactMap { node -> FleetTargetGroup? in
            guard let record = agents[node], let url = URL(string: record.apiURL), let host = url.host else { return nil }
            let scheme = url.scheme?.lowercased() ?? "http"
            let port = url.port ?? (scheme == "https" ? 443 : 80)
            let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            var labels = ["node": node, "version": record.version]
            if scheme == "https" { labels["__scheme__"] = "https" }
            return FleetTargetGroup(targets: ["\(shownHost):\(port)"], labels: labels)
        })
    }
}
