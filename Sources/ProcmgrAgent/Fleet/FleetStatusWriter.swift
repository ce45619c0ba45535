import Logging
import ProcmgrEtcd
import ProcmgrSupport

/// Writes each process's observed status to `{prefix}/status/{node}/{id}`, only when it changed,
/// coalesced: the writer wakes on the agent's lifecycle events, waits out the coalescing window
/// (100 ms), computes every process's status, and sends what differs from what it last wrote —
/// puts and deletes, plus the registration's process count when it moved — in one transaction
/// (several only beyond etcd's 128 operations per transaction; the window then stretches so the
/// agent stays within `maxTransactionsPerSecond`). An idle agent writes nothing.
///
/// Every key is attached to the registration's lease, so a dead node's status disappears with
/// it; under a new lease (the old one expired in an outage) everything is written again.
final class FleetStatusWriter: Sendable {
    struct Tuning: Sendable {
        /// How long changes gather before one transaction carries them all.
        var window: Duration = .milliseconds(100)
        /// etcd's default `--max-txn-ops`.
        var operationsPerTransaction = 128
    }

    private struct Written: Sendable {
        var epoch = -1
        var values: [String: [UInt8]] = [:]
        /// The process count the registration key carries now.
        var count: Int?
        /// The last transaction failed (a warning was logged for this streak).
        var failing = false
    }

    private let keys: FleetKeys
    private let client: EtcdClient
    private let registration: FleetRegistration
    private let metrics: FleetMetrics?
    private let logger: Logger
    private let tuning: Tuning
    private let written = LockedState(Written())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    init(keys: FleetKeys, client: EtcdClient, registration: FleetRegistration, metrics: FleetMetrics?, logger: Logger, tuning: Tuning = Tuning()) {
        self.keys = keys
        self.client = client
        self.registration = registration
        self.metrics = metrics
        self.logger = logger
        self.tuning = tuning
        (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Something may have changed: a flush follows within the window.
    func markDirty() { wake.yield() }

    /// Flushes after every wake until cancelled. `statuses` is the agent's view of every process.
    func run(statuses: @escaping @Sendable () async -> [FleetProcessStatus]) async {
        markDirty()
        for await _ in wakes {
            do { try await Task.sleep(for: tuning.window) } catch { return }
            let outcome = await flush(statuses: await statuses())
            if outcome.transactions > 1 {
                // Stay near one transaction per window on average during a large churn.
                do { try await Task.sleep(for: tuning.window * (outcome.transactions - 1)) } catch { return }
            }
            if outcome.failed {
                // etcd did not take it: try again in a second even if nothing else changes.
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                markDirty()
            }
        }
    }

    /// Writes what changed; returns the transactions sent and whether one failed. A failure
    /// leaves the written map as it was, so the next flush sends the same changes again.
    @discardableResult
    func flush(statuses: [FleetProcessStatus]) async -> (transactions: Int, failed: Bool) {
        guard let lease = registration.lease else { return (0, false) }
        var desired: [String: [UInt8]] = [:]
        for status in statuses { desired[keys.status(of: status.id)] = status.encoded() }
        let operations = written.withLock { written -> [EtcdOperation] in
            if written.epoch != lease.epoch { written = Written(epoch: lease.epoch) }
            var operations: [EtcdOperation] = []
            for (key, value) in desired.sorted(by: { $0.key < $1.key }) where written.values[key] != value {
                operations.append(.put(key: key, value: value, lease: lease.id))
            }
            for key in written.values.keys.sorted() where desired[key] == nil {
                operations.append(.delete(key: key))
            }
            return operations
        }
        var all = operations
        let count = statuses.count
        if written.withLock({ $0.count != count }) {
            all.append(.put(key: keys.agent, value: registration.record(processes: count), lease: lease.id))
        }
        guard !all.isEmpty else { return (0, false) }
        var sent = 0
        var start = 0
        while start < all.count {
            let chunk = Array(all[start..<min(all.count, start + tuning.operationsPerTransaction)])
            do throws(EtcdError) {
                _ = try await client.txn(compare: [], success: chunk)
                metrics?.statusWritten(success: true)
                metrics?.contacted()
                sent += 1
                written.withLock { written in
                    guard written.epoch == lease.epoch else { return }
                    for operation in chunk {
                        switch operation {
                        case .put(let key, _, _) where key == keys.agent: written.count = count
                        case .put(let key, let value, _): written.values[key] = value
                        case .delete(let key): written.values[key] = nil
                        default: break
                        }
                    }
                }
            } catch {
                metrics?.statusWritten(success: false)
                // Loud once per streak (an outage retries every second), quiet while it lasts.
                let first = written.withLock { written in
                    defer { written.failing = true }
                    return !written.failing
                }
                logger.log(level: first ? .warning : .debug, "fleet status not written; retrying every second", metadata: ["error": "\(error)"])
                return (sent + 1, true)
            }
            start += tuning.operationsPerTransaction
        }
        written.withLock { $0.failing = false }
        return (sent, false)
    }
}
