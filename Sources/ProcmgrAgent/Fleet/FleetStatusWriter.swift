import Logging
import ProcmgrEtcd
import ProcmgrSupport

/// Writes each process's observed status to `{prefix}/status/{node}/{id}`, only when it changed,
/// coalesced: the writer wakes on the agent's lifecycle events, waits out the coalescing window
/// (100 ms), computes every process's status, and sends what differs from what it last wrote —
/// puts and deletes, plus the registration's process count when it moved — in one transaction
/// (several only beyond etcd's 128 operations per transaction; the window then stretches by one
/// window per extra transaction, so a churn stays near ten transactions a second). An idle agent
/// writes nothing. Statuses are compared as values and only the changed ones are encoded.
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
        /// By process id, as etcd holds them under the lease of `epoch`.
        var statuses: [String: FleetProcessStatus] = [:]
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

    /// One write of the flush: a process's status (nil: its key goes), or the registration's count.
    private enum Change {
        case status(id: String, FleetProcessStatus?)
        case processCount(Int)
    }

    /// Writes what changed; returns the transactions sent and whether one failed. A failure
    /// leaves the written state as it was, so the next flush sends the same changes again.
    @discardableResult
    func flush(statuses: [FleetProcessStatus]) async -> (transactions: Int, failed: Bool) {
        guard let lease = registration.lease else { return (0, false) }
        let changes = written.withLock { written -> [Change] in
            if written.epoch != lease.epoch { written = Written(epoch: lease.epoch) }
            var changes: [Change] = []
            var present = Set<String>()
            for status in statuses {
                present.insert(status.id)
                if written.statuses[status.id] != status { changes.append(.status(id: status.id, status)) }
            }
            for id in written.statuses.keys where !present.contains(id) { changes.append(.status(id: id, nil)) }
            if written.count != statuses.count { changes.append(.processCount(statuses.count)) }
            return changes
        }
        guard !changes.isEmpty else { return (0, false) }
        var sent = 0
        for start in stride(from: 0, to: changes.count, by: tuning.operationsPerTransaction) {
            let chunk = changes[start..<min(changes.count, start + tuning.operationsPerTransaction)]
            let operations = chunk.map { change -> EtcdOperation in
                switch change {
                case .status(let id, let status?): .put(key: keys.status(of: id), value: status.encoded(), lease: lease.id)
                case .status(let id, nil): .delete(key: keys.status(of: id))
                case .processCount(let count): .put(key: keys.agent, value: registration.record(processes: count), lease: lease.id)
                }
            }
            do throws(EtcdError) {
                _ = try await client.txn(compare: [], success: operations)
                metrics?.statusWritten(success: true)
                metrics?.contacted()
                sent += 1
                written.withLock { written in
                    guard written.epoch == lease.epoch else { return }
                    for change in chunk {
                        switch change {
                        case .status(let id, let status): written.statuses[id] = status
                        case .processCount(let count): written.count = count
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
        }
        written.withLock { $0.failing = false }
        return (sent, false)
    }
}
