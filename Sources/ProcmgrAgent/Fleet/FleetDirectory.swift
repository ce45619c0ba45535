import Foundation
import Logging
import ProcmgrEngine
import ProcmgrEtcd
import ProcmgrSupport

/// Every agent registered in the fleet, followed from `{prefix}/agents/` (one read, then a watch):
/// what `GET /api/v1/fleet/targets` answers from memory, so a Prometheus refreshing its
/// `http_sd` targets every few seconds costs etcd nothing.
final class FleetDirectory: Sendable {
    private let follower: PrefixFollower
    private let agentsPrefix: String
    /// By node; `nil` until the first read: an answer from an empty directory would tell
    /// Prometheus to drop every target.
    private let records = LockedState<[String: FleetRegistrationRecord]?>(nil)
    private let metrics: FleetMetrics?

    init(keys: FleetKeys, client: EtcdClient, metrics: FleetMetrics?, logger: Logger, backoff: Backoff) {
        agentsPrefix = keys.agents
        follower = PrefixFollower(client: client, prefixes: [keys.agents], backoff: backoff, metrics: metrics, logger: logger,
                                  random: { Double.random(in: 0..<1) }, name: "agents", countsDesiredState: false)
        self.metrics = metrics
    }

    /// The registered agents by node; `nil` before the directory was read once.
    var agents: [String: FleetRegistrationRecord]? { records.withLock { $0 } }

    func run() async {
        await follower.run(startRevision: 0, onChange: { change in
            self.records.withLock { records in
                var known = records ?? [:]
                switch change {
                case .snapshot(let kvs):
                    known = [:]
                    for kv in kvs { self.apply(put: kv, to: &known) }
                case .events(let events):
                    for event in events {
                        switch event.kind {
                        case .put: self.apply(put: event.kv, to: &known)
                        case .delete:
                            if let node = FleetKeys.id(of: event.kv.key, under: self.agentsPrefix) { known[node] = nil }
                        }
                    }
                }
                records = known
                self.metrics?.setAgents(known.count)
            }
        })
    }

    private func apply(put kv: EtcdKeyValue, to records: inout [String: FleetRegistrationRecord]) {
        guard let node = FleetKeys.id(of: kv.key, under: agentsPrefix) else { return }
        records[node] = FleetRegistrationRecord.decode(kv.value)
    }
}
