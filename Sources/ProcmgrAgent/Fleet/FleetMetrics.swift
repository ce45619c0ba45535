public import Foundation
public import ProcmgrMetrics
public import ProcmgrEtcd

/// The fleet's metric families (`procmgr_fleet_*`, SPEC §3.6): what the etcd source, the
/// registration and the status write-back did, so an operator sees a node drifting away from the
/// fleet before its processes do.
///
/// Every labelled series exists from the start (at 0), so `rate()` works from the first scrape
/// and the alerts need no `absent()` guard. `last_contact_timestamp_seconds` is set by *any*
/// answer from etcd (a watch message, a keep-alive, a write), so an idle fleet still shows
/// contact every third of `lease_ttl`: "no contact for a minute" means etcd is really gone.
public struct FleetMetrics: Sendable {
    /// Why the desired state was read whole again instead of followed by the watch.
    public enum ResyncReason: String, Sendable, CaseIterable {
        /// The first read at start-up.
        case startup
        /// The watch's start revision was compacted away: events were lost, only a re-read knows.
        case compacted
        /// A watch could not resume (etcd refused the revision otherwise) after reconnecting.
        case reconnect
    }

    private let watchPuts: Counter
    private let watchDeletes: Counter
    private let resyncs: [ResyncReason: Counter]
    private let connected: Gauge
    private let keepAliveFailures: Counter
    private let statusWriteSuccesses: Counter
    private let statusWriteFailures: Counter
    private let lastContact: Gauge
    private let registered: Gauge
    private let rejectedKeys: Gauge
    private let agents: Gauge

    public init(registry: MetricsRegistry) throws(MetricsRegistryError) {
        let events = try registry.counterFamily(
            name: "procmgr_fleet_watch_events_total",
            help: "Desired-state changes received from etcd's watch, by type (put, delete).",
            labelNames: ["type"])
        watchPuts = events.labels("put")
        watchDeletes = events.labels("delete")
        let resyncFamily = try registry.counterFamily(
            name: "procmgr_fleet_resyncs_total",
            help: "Full re-reads of the desired state from etcd, by reason (startup, compacted, reconnect).",
            labelNames: ["reason"])
        var resyncs: [ResyncReason: Counter] = [:]
        for reason in ResyncReason.allCases { resyncs[reason] = resyncFamily.labels(reason.rawValue) }
        self.resyncs = resyncs
        connected = try registry.gauge(
            name: "procmgr_fleet_connected",
            help: "1 while the agent's etcd watches are established and its lease is alive, else 0.")
        keepAliveFailures = try registry.counter(
            name: "procmgr_fleet_lease_keepalive_failures_total",
            help: "Lease keep-alives that got no answer from any etcd endpoint, or found the lease gone.")
        let writes = try registry.counterFamily(
            name: "procmgr_fleet_status_writes_total",
            help: "Status write-back transactions to etcd (each carries every change since the last), by result.",
            labelNames: ["result"])
        statusWriteSuccesses = writes.labels("success")
        statusWriteFailures = writes.labels("failure")
        lastContact = try registry.gauge(
            name: "procmgr_fleet_last_contact_timestamp_seconds",
            help: "Unix time of the last answer from etcd (watch message, keep-alive, read or write).")
        registered = try registry.gauge(
            name: "procmgr_fleet_registered",
            help: "1 while the agent holds its registration key under a live lease, else 0.")
        rejectedKeys = try registry.gauge(
            name: "procmgr_fleet_rejected_keys",
            help: "Desired-state keys in etcd currently rejected as invalid (each logged with its key).")
        agents = try registry.gauge(
            name: "procmgr_fleet_agents",
            help: "Agents registered in etcd under the fleet's prefix, as this agent last saw them.")
    }

    public func watchEvent(_ kind: EtcdEvent.Kind) {
        switch kind {
        case .put: watchPuts.increment()
        case .delete: watchDeletes.increment()
        }
    }

    public func resynced(_ reason: ResyncReason) { resyncs[reason]?.increment() }
    public func setConnected(_ up: Bool) { connected.set(up ? 1 : 0) }
    public func keepAliveFailed() { keepAliveFailures.increment() }
    public func statusWritten(success: Bool) {
        if success { statusWriteSuccesses.increment() } else { statusWriteFailures.increment() }
    }
    public func contacted(at time: Double = Date().timeIntervalSince1970) { lastContact.set(time) }
    public func setRegistered(_ held: Bool) { registered.set(held ? 1 : 0) }
    public func setRejectedKeys(_ count: Int) { rejectedKeys.set(Double(count)) }
    public func setAgents(_ count: Int) { agents.set(Double(count)) }
}
