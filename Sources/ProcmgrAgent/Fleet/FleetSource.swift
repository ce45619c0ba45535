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
    private let metrics: FleetMetrics?
    private let state = LockedState(FleetDesiredState())
    /// The revision of the live read `initial` applied; 0 (read afresh) after a cached start.
    private let startRevision = LockedState<Int64>(0)
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
        self.metrics = metrics
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
            metrics?.resynced(.startup)
            var desired = FleetDesiredState()
            desired.replaceAll(read.kvs.compactMap(entry))
            if await accept(desired, false) {
                state.withLock { $0 = desired }
                startRevision.withLock { $0 = read.revision }
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
            // The start revision stays 0: the follower reads afresh once etcd answers.
            state.withLock { $0 = cached }
            logger.warning("starting from the cached fleet state", metadata: ["cache_file": "\(cache.path)", "reason": "\(liveFailure)"])
            return cached
        }
    }

    /// Follows etcd until cancelled, delivering every changed set; writes the cache behind.
    ///
    /// Latest set wins: the watch is read on, and the set kept current, while the agent applies a
    /// set; what changed meanwhile goes to the agent as one set when it is done. Each apply
    /// validates and reconciles the whole set, so a burst of a thousand single-key puts is a
    /// handful of applies, not a thousand (BENCHMARKS.md, "Fleet on etcd": a 1,000-process churn
    /// settled in 93 s with one apply per event, in 4.9 s with this).
    func run(deliver: @escaping @Sendable (FleetDesiredState) async -> Void, onConnected: @escaping @Sendable (Bool) -> Void) async {
        let start = startRevision.withLock { $0 }
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
            var changed = false
            switch change {
            case .snapshot(let kvs):
                let before = desired
                desired.replaceAll(kvs.compactMap(entry))
                changed = desired != before
            case .events(let events):
                for event in events {
                    switch event.kind {
                    case .put: if let entry = entry(event.kv) { changed = desired.put(entry) || changed }
                    case .delete: changed = desired.delete(key: event.kv.key) || changed
                    }
                }
            }
            return changed ? desired : nil
        }
    }

    /// The entry a key is, by the collection its key lies in; nil for a key that is not directly
    /// a process entry (`…/processes/a/b`).
    private func entry(_ kv: EtcdKeyValue) -> FleetEntry? {
        let scope: FleetEntry.Scope = kv.key.hasPrefix(keys.nodeProcesses) ? .node : .all
        guard let id = FleetKeys.id(of: kv.key, under: scope == .node ? keys.nodeProcesses : keys.allProcesses) else {
            logger.debug("ignoring a key that is not a process entry", metadata: ["key": "\(kv.key)"])
            return nil
        }
        return FleetEntry(key: kv.key, id: id, scope: scope, value: kv.value)
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
