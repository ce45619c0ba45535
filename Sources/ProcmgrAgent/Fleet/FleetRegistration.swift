import Foundation
import Logging
import ProcmgrEngine
import ProcmgrEtcd
import ProcmgrSupport

/// The agent's registration in the fleet: `{prefix}/agents/{node}` under a lease of `lease_ttl`
/// that the agent keeps alive, so a dead agent's registration (and its status keys, attached to
/// the same lease) disappears at lease expiry, and a stopping one revokes it at once.
///
/// One node name, one agent: the key is created in a transaction that succeeds only if it does not
/// exist. A second agent for the same node waits out at most one lease (the first may be a
/// SIGKILLed predecessor whose lease is about to expire — a restart must not fail for that) by
/// watching the key; if it is still held afterwards, a live agent keeps it alive and the second
/// refuses to start, naming the holder.
///
/// Keep-alives go out every third of the TTL. A keep-alive that gets no answer is retried
/// quickly (every endpoint each time); one that finds the lease gone (an outage longer than the
/// TTL) takes a new lease and registers again — if another agent took the node meanwhile, this
/// one stays unregistered, says so loudly, and `procmgr_fleet_registered` is 0 (the
/// `ProcmgrAgentRegistrationLost` alert).
final class FleetRegistration: Sendable {
    struct State: Sendable {
        /// The lease the registration and the status keys are attached to; nil while none is held.
        var lease: Int64?
        /// Bumped for every new lease: the status writer rewrites everything under a new one.
        var epoch = 0
        var record: FleetRegistrationRecord
        /// Set at a clean stop: nothing registers again.
        var stopped = false
    }

    let keys: FleetKeys
    let ttl: Duration
    private let client: EtcdClient
    private let metrics: FleetMetrics?
    private let logger: Logger
    private let state: LockedState<State>
    private let retry = Backoff(initial: .milliseconds(200), maximum: .seconds(1), multiplier: 2, jitter: 0.2)

    init(keys: FleetKeys, ttl: Duration, record: FleetRegistrationRecord, client: EtcdClient, metrics: FleetMetrics?, logger: Logger) {
        self.keys = keys
        self.ttl = ttl
        self.client = client
        self.metrics = metrics
        self.logger = logger
        state = LockedState(State(record: record))
    }

    var lease: (id: Int64, epoch: Int)? {
        state.withLock { state in state.lease.map { ($0, state.epoch) } }
    }

    var record: FleetRegistrationRecord { state.withLock { $0.record } }

    /// The API URL to register when `agent.etcd.api_url` did not set one: known only once the
    /// API listens (port 0 resolved).
    func setAPIURLIfUnset(_ url: String) {
        state.withLock { if $0.record.apiURL.isEmpty { $0.record.apiURL = url } }
    }

    /// Registers, waiting out a predecessor's lease; throws when a live agent holds the node.
    func register() async throws(FleetRegistrationError) {
        let lease: EtcdLease
        do {
            lease = try await client.grantLease(ttl: ttl)
        } catch {
            throw FleetRegistrationError(message: "cannot take a lease from etcd: \(error)", unavailable: true)
        }
        metrics?.contacted()
        let deadline = ContinuousClock.now + ttl + .seconds(2)
        while true {
            let holder: EtcdKeyValue?
            do {
                holder = try await create(lease: lease.id)
            } catch {
                try? await client.revoke(lease: lease.id)
                throw FleetRegistrationError(message: "cannot register \(keys.agent) in etcd: \(error)", unavailable: true)
            }
            guard let holder else {
                let stopped = state.withLock { state -> Bool in
                    guard !state.stopped else { return true }
                    state.lease = lease.id
                    state.epoch += 1
                    return false
                }
                if stopped {
                    try? await client.revoke(lease: lease.id)
                    throw FleetRegistrationError(message: "the agent is stopping", unavailable: true)
                }
                metrics?.setRegistered(true)
                logger.info("registered in the fleet", metadata: ["key": "\(keys.agent)", "lease": "\(lease.id)", "ttl": "\(ttl)"])
                return
            }
            let remaining = deadline - ContinuousClock.now
            let released = remaining > .zero ? await waitForDeletion(of: holder, within: remaining) : false
            if !released {
                try? await client.revoke(lease: lease.id)
                let who = FleetRegistrationRecord.decode(holder.value).map { "the agent at \($0.apiURL) (version \($0.version), started \(Self.time($0.startTime)))" } ?? "another client"
                throw FleetRegistrationError(
                    message: "node \(keys.node) is already registered at \(keys.agent) by \(who), whose lease is kept alive: two agents must never run one node's processes; stop that agent or give this one another agent.etcd.node",
                    unavailable: false)
            }
        }
    }

    /// The registration transaction: create the key if absent; returns the holder otherwise.
    private func create(lease: Int64) async throws(EtcdError) -> EtcdKeyValue? {
        let value = state.withLock { $0.record.encoded() }
        let result = try await client.txn(
            compare: [.createRevision(key: keys.agent, equals: 0)],
            success: [.put(key: keys.agent, value: value, lease: lease)],
            failure: [.get(key: keys.agent)])
        metrics?.contacted()
        if result.succeeded { return nil }
        // A transaction is atomic: the compare failed because the key exists, so the get sees it.
        guard let holder = result.ranges.first?.first else {
            throw EtcdError(.invalidResponse, "the registration transaction on \(keys.agent) failed its compare but returned no holder")
        }
        return holder
    }

    /// Watches the holder's key until it is deleted (true) or `limit` passes (false).
    private func waitForDeletion(of holder: EtcdKeyValue, within limit: Duration) async -> Bool {
        logger.notice("node already registered; waiting for the holder's lease to expire",
                      metadata: ["key": "\(keys.agent)", "within": "\(limit)"])
        let key = keys.agent
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { [client] in
                do {
                    for try await message in client.watch(prefix: key, fromRevision: EtcdRevision.after(holder.modRevision), progressNotify: false) {
                        if case .events(_, let events) = message, events.contains(where: { $0.kind == .delete && $0.kv.key == key }) {
                            return true
                        }
                        if case .compacted = message { return true }  // try the transaction again
                    }
                } catch {}
                return false
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// A third of the TTL, at most 20 s: the keep-alive is also the agent's proof of contact
    /// (`procmgr_fleet_last_contact_timestamp_seconds`), which `ProcmgrFleetSourceDown` expects
    /// well within a minute even with a long `lease_ttl`.
    var keepAliveInterval: Duration { min(ttl / 3, .seconds(20)) }

    /// Keeps the lease alive until cancelled; re-registers under a new lease when it was lost.
    func run() async {
        var failures = 0
        var lastSuccess = ContinuousClock.now
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            let delay = failures == 0 ? keepAliveInterval : retry.delay(afterFailures: failures, random: Double.random(in: 0..<1))
            do { try await Task.sleep(for: delay) } catch { return }
            guard let lease = state.withLock({ $0.lease }) else {
                // Lost earlier and not taken back yet.
                failures = await reRegister() ? 0 : failures + 1
                continue
            }
            do throws(EtcdError) {
                _ = try await client.keepAlive(lease: lease)
                metrics?.contacted()
                metrics?.setRegistered(true)
                if failures > 0 { logger.notice("etcd lease kept alive again", metadata: ["lease": "\(lease)"]) }
                failures = 0
                lastSuccess = .now
            } catch {
                metrics?.keepAliveFailed()
                failures += 1
                if error.code == .leaseNotFound {
                    logger.error("etcd lease lost; the registration and the status keys expired with it: registering again",
                                 metadata: ["lease": "\(lease)", "error": "\(error)"])
                    state.withLock { $0.lease = nil }
                    metrics?.setRegistered(false)
                    failures = await reRegister() ? 0 : failures
                } else {
                    // etcd unreachable: keep trying the same lease. etcd extends every lease by
                    // its TTL when a leader is elected, so after an outage the lease usually
                    // lives on; only etcd can say it expired (leaseNotFound above).
                    if ContinuousClock.now - lastSuccess > ttl { metrics?.setRegistered(false) }
                    if failures == 1 {
                        logger.warning("etcd lease keep-alive failed; retrying", metadata: ["lease": "\(lease)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    private func reRegister() async -> Bool {
        guard !state.withLock({ $0.stopped }) else { return false }
        do throws(FleetRegistrationError) {
            try await register()
            return true
        } catch {
            if !error.unavailable {
                logger.critical("the fleet registration was lost to another agent: this agent keeps its processes running but is not registered", metadata: ["error": "\(error)"])
            }
            return false
        }
    }

    /// The registration value with `processes` as the process count (kept for the next
    /// registration too).
    func record(processes: Int) -> [UInt8] {
        state.withLock { state in
            state.record.processes = processes
            return state.record.encoded()
        }
    }

    /// At a clean stop: the registration and status keys go at once, not at lease expiry, and
    /// nothing registers again.
    func stop() async {
        guard let lease = state.withLock({ state -> Int64? in
            state.stopped = true
            defer { state.lease = nil }
            return state.lease
        }) else { return }
        metrics?.setRegistered(false)
        do {
            try await client.revoke(lease: lease)
            logger.info("fleet registration revoked", metadata: ["key": "\(keys.agent)"])
        } catch {
            logger.warning("could not revoke the fleet lease; the registration expires with it", metadata: ["error": "\(error)", "ttl": "\(ttl)"])
        }
    }

    private static func time(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// Why the agent could not register its node.
struct FleetRegistrationError: Error, CustomStringConvertible {
    let message: String
    /// etcd did not answer (retry later) rather than refused (another agent holds the node).
    let unavailable: Bool
    var description: String { message }
}
