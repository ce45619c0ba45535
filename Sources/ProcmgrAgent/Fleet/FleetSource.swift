import Foundation
import Logging
import ProcmgrConfig
import ProcmgrEngine
import ProcmgrEtcd
import ProcmgrSupport

/// The etcd config source (SPEC §3.6, issue 13): this node's desired processes and the
/// fleet-wide ones, read once at one revision and then watched, handed to the agent whole each
/// time they change.
///
///     initial(accept:) ── live read (short timeout) ─► accept ─► cache ─► return
///            └── etcd unreachable ─► the cache of an earlier run ─► accept ─► return (fromCache)
///                                    └ none ─► throw (the agent runs nothing until etcd answers)
///     run(deliver:) ── PrefixFollower: watch both collections from the read's revision + 1;
///                      every change of the set ─► deliver ─► cache (debounced)
///
/// During an outage the agent keeps the last delivered set running (nothing is delivered, so
/// nothing changes) and the follower retries with backoff over every endpoint; a compaction past
/// the watch's revision re-reads everything, and only what differs is applied (the reconciler
/// leaves unchanged specs alone).
final class FleetSource: Sendable {
    struct Tuning: Sendable {
        /// Capped low on purpose: a returning etcd is used within about a second (issue 13's goal
        /// is the first event applied ≤ 2 s after etcd is back); a refused connect costs nothing.
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0.2)
        /// At most one cache write per this interval during churn (each is an fsync).
        var cacheInterval: Duration = .seconds(1)
    }

    let keys: FleetKeys
    private let follower: PrefixFollower
    private let cache: DurableCacheFile
    private let state = LockedState(FleetDesiredState())
    private let cacheWrites: AsyncStream<FleetDesiredState>.Continuation
    private let cacheStream: AsyncStream<FleetDesiredState>
    private let tuning: Tuning
    private let logger: Logger

    init(spec: EtcdSourceSpec, client: EtcdClient, metrics: FleetMetrics?, logger: Logger, tuning: Tuning = Tuning(),
         random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        keys = FleetKeys(prefix: spec.prefix, node: spec.node)
        follower = PrefixFollower(client: client, prefixes: [keys.nodeProcesses, keys.allProcesses], backoff: tuning.backoff,
                                  metrics: metrics, logger: logger, random: random, name: "desired state")
        cache = DurableCacheFile(path: spec.cacheFile, label: "fleet cache", configKey: "agent.etcd.cache_file")
        (cacheStream, cacheWrites) = AsyncStream<FleetDesiredState>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.tuning = tuning
        self.logger = logger
    }

    /// The set last delivered (or started from).
    var current: FleetDesiredState { state.withLock { $0 } }

    /// The set to start from: a live read, else the cache. `accept` applies it (and answers
    /// whether it was applied); only an applied set is cached.
    /// - Throws: a message saying why neither gave a set.
    func initial(accept: @Sendable (FleetDesiredState, _ fromCache: Bool) async -> Bool) async throws(FleetStartError) -> FleetDesiredState {
        let liveFailure: String
        do throws(EtcdError) {
            let read = try await follower.snapshot()
            var desired = FleetDesiredState()
            desired.replaceAll(entries(read.kvs), revision: read.revision)
            if await accept(desired, false) {
                state.withLock { $0 = desired }
                store(desired)
                return desired
            }
            liveFailure = "etcd's desired state was rejected"
        } catch {
            liveFailure = "etcd is unreachable (\(error))"
        }
        let data: Data?
        do {
            data = try cache.read()
        } catch {
            throw FleetStartError(message: "\(liveFailure); and \(error.message)")
        }
        guard let data else {
            throw FleetStartError(message: "\(liveFailure); and there is no cached copy at \(cache.path) yet: an agent can start without etcd only after it has read it once")
        }
        switch FleetDesiredState.fromCache(data) {
        case .failure(let failure):
            throw FleetStartError(message: "\(liveFailure); and the cache \(cache.path) is unusable: \(failure)")
        case .success(let cached):
            guard await accept(cached, true) else {
                throw FleetStartError(message: "\(liveFailure); and the cached copy at \(cache.path) was rejected too")
            }
            // Not `current`'s revision: the follower must read afresh (revision 0), not resume
            // from a revision of an earlier run.
            var started = cached
            started.replaceAll(cached.sortedEntries, revision: 0)
            state.withLock { $0 = started }
            logger.warning("starting from the cached fleet state", metadata: ["cache_file": "\(cache.path)", "reason": "\(liveFailure)"])
            return started
        }
    }

    /// Follows etcd until cancelled, delivering every changed set; writes the cache behind.
    ///
    /// Latest set wins: the watch is read on, and the set kept current, while the agent applies a
    /// set; what changed meanwhile goes to the agent as one set when it is done. Each apply
    /// validates and reconciles the whole set, so a burst of a thousand single-key puts is a
    /// handful of applies, not a thousand (measured: 90 s → see BENCHMARKS.md, "Fleet on etcd").
    func run(deliver: @escaping @Sendable (FleetDesiredState) async -> Void, onConnected: @escaping @Sendable (Bool) -> Void) async {
        let start = state.withLock { $0.revision }
        let (changes, changed) = AsyncStream<FleetDesiredState>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.writeCacheBehind() }
            group.addTask {
                var delivered = self.current.entries
                for await desired in changes where desired.entries != delivered {
                    await deliver(desired)
                    delivered = desired.entries
                    self.cacheWrites.yield(desired)
                }
            }
            await follower.run(startRevision: start, onChange: { change in
                guard let newer = self.apply(change) else { return }
                changed.yield(newer)
            }, onConnected: onConnected)
            changed.finish()
            cacheWrites.finish()
            group.cancelAll()
            await group.waitForAll()
        }
        // The writer may have been sleeping out its interval: the newest set still goes to disk.
        store(current)
    }

    /// Applies one change to the set; returns the new set when it differs.
    private func apply(_ change: PrefixFollower.Change) -> FleetDesiredState? {
        state.withLock { desired in
            let before = desired
            switch change {
            case .snapshot(let kvs, let revision, _):
                desired.replaceAll(entries(kvs), revision: revision)
            case .events(let events, let prefix):
                let collection = prefix == 0 ? keys.nodeProcesses : keys.allProcesses
                for event in events {
                    switch event.kind {
                    case .put:
                        if let entry = entry(event.kv, collection: collection) {
                            desired.put(entry, revision: event.kv.modRevision)
                        }
                    case .delete:
                        desired.delete(key: event.kv.key, revision: event.kv.modRevision)
                    }
                }
            }
            return desired.entries == before.entries ? nil : desired
        }
    }

    private func entries(_ kvs: [EtcdKeyValue]) -> [FleetEntry] {
        kvs.compactMap { kv in
            entry(kv, collection: kv.key.hasPrefix(keys.nodeProcesses) ? keys.nodeProcesses : keys.allProcesses)
        }
    }

    private func entry(_ kv: EtcdKeyValue, collection: String) -> FleetEntry? {
        guard let id = FleetKeys.id(of: kv.key, under: collection) else {
            logger.debug("ignoring a key that is not a process entry", metadata: ["key": "\(kv.key)"])
            return nil
        }
        return FleetEntry(key: kv.key, id: id, scope: collection == keys.nodeProcesses ? .node : .all, value: kv.value)
    }

    private func store(_ desired: FleetDesiredState) {
        do {
            try cache.store(desired.cacheData())
        } catch {
            logger.warning("fleet cache not written; an agent restarted during an etcd outage would start from an older copy",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Writes the newest set at most once per `cacheInterval`: a churn of a thousand puts is
    /// a few fsyncs, not a thousand.
    private func writeCacheBehind() async {
        for await desired in cacheStream {
            store(desired)
            do { try await Task.sleep(for: tuning.cacheInterval) } catch { return }
        }
    }
}

/// Neither etcd nor the cache gave the agent a desired state at start.
struct FleetStartError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
