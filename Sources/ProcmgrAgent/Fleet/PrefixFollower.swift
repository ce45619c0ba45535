import Logging
import ProcmgrEngine
import ProcmgrEtcd

/// Follows a few key prefixes of etcd: one read of all of them at one revision, then a watch of
/// each from the revision after it — never a polling loop. Used for the desired state (this
/// node's and every node's processes) and for discovery (the agents' registrations).
///
///     snapshot ── range prefix[0] (revision R), range prefix[1…] at R ──► .snapshot(kvs, R)
///        │
///        ▼
///     watch every prefix from its own last seen revision + 1 ──► .events(…) as they come
///        │ a watch's start revision was compacted ──► snapshot again (events were lost)
///        │ a connection lost / etcd unreachable ──► backoff (exponential, jitter, capped low so a
///        │                                          returning etcd is used within ~1 s), then
///        └──────────────────────────────────────────  resume each watch after what it saw
///
/// Each prefix keeps its own resume point: two watch streams run at their own pace, so resuming
/// both after the newer one's revision could skip an event the slower one had not delivered yet.
/// A `created` message does not advance it either (the replay of history comes after it); events
/// and progress notifications do.
struct PrefixFollower: Sendable {
    enum Change: Sendable {
        /// Every key under the prefixes, read at one revision; replaces what was known.
        case snapshot([EtcdKeyValue])
        /// Changes under one of the prefixes, in revision order (the key says which prefix).
        case events([EtcdEvent])
    }

    let client: EtcdClient
    let prefixes: [String]
    let backoff: Backoff
    let metrics: FleetMetrics?
    let logger: Logger
    let random: @Sendable () -> Double
    /// What the log calls this follower ("desired state", "agents").
    let name: String
    /// Whether its re-reads and events are the desired state's (`procmgr_fleet_resyncs_total`,
    /// `procmgr_fleet_watch_events_total`); every follower reports contact.
    var countsDesiredState = true

    /// One consistent read of every prefix.
    func snapshot() async throws(EtcdError) -> (kvs: [EtcdKeyValue], revision: Int64) {
        guard let first = prefixes.first else { return ([], 0) }
        let head = try await client.range(prefix: first)
        var kvs = head.kvs
        for prefix in prefixes.dropFirst() {
            kvs += try await client.range(prefix: prefix, revision: head.revision).kvs
        }
        metrics?.contacted()
        return (kvs, head.revision)
    }

    /// Follows until the calling task is cancelled. `startRevision` is the revision of a snapshot
    /// the caller already applied (0: none, read one first); `onChange` is awaited before the next
    /// message is read, so changes are applied in order and a slow consumer slows the stream
    /// rather than queueing without bound.
    func run(startRevision: Int64, onChange: @Sendable (Change) async -> Void, onConnected: @Sendable (Bool) -> Void = { _ in }) async {
        var seen = [Int64](repeating: startRevision, count: prefixes.count)
        var needsSnapshot = startRevision == 0
        var snapshotReason: FleetMetrics.ResyncReason = .reconnect
        var failures = 0
        var lastFailure: String?
        while !Task.isCancelled {
            if needsSnapshot {
                do throws(EtcdError) {
                    let read = try await snapshot()
                    if countsDesiredState { metrics?.resynced(snapshotReason) }
                    await onChange(.snapshot(read.kvs))
                    seen = [Int64](repeating: read.revision, count: prefixes.count)
                    needsSnapshot = false
                } catch {
                    failures += 1
                    report(error.description, failures: failures, last: &lastFailure)
                    guard await pause(failures: failures) else { return }
                    continue
                }
            }
            let outcome = await watchAll(from: seen, onChange: onChange) {
                failures = 0
                if lastFailure != nil { logger.notice("etcd watch resumed", metadata: ["follower": "\(name)"]) }
                lastFailure = nil
                onConnected(true)
            }
            seen = outcome.seen
            onConnected(false)
            switch outcome.end {
            case .cancelled:
                return
            case .compacted(let revision):
                logger.warning("etcd compacted past the watch's revision; reading everything again",
                               metadata: ["follower": "\(name)", "compact_revision": "\(revision)"])
                needsSnapshot = true
                snapshotReason = .compacted
            case .lost(let message):
                failures += 1
                report(message, failures: failures, last: &lastFailure)
                snapshotReason = .reconnect
                guard await pause(failures: failures) else { return }
            }
        }
    }

    private enum End: Sendable {
        case cancelled
        case compacted(Int64)
        case lost(String)
    }

    /// A message of one of the watches, tagged with the prefix it follows.
    private enum Tagged: Sendable {
        case message(EtcdWatchMessage, prefix: Int)
        case ended(End)
    }

    /// Runs one watch per prefix until one of them ends; returns why and how far each got.
    /// `onAllCreated` runs once every watch is registered.
    private func watchAll(
        from seen: [Int64], onChange: @Sendable (Change) async -> Void, onAllCreated: () -> Void
    ) async -> (end: End, seen: [Int64]) {
        var seen = seen
        let (stream, continuation) = AsyncStream<Tagged>.makeStream()
        return await withTaskGroup(of: Void.self) { group in
            for (index, prefix) in prefixes.enumerated() {
                let start = EtcdRevision.after(seen[index])
                group.addTask { [client] in
                    do {
                        for try await message in client.watch(prefix: prefix, fromRevision: start) {
                            continuation.yield(.message(message, prefix: index))
                        }
                        continuation.yield(.ended(.lost("the watch of \(prefix) ended")))
                    } catch is CancellationError {
                        continuation.yield(.ended(.cancelled))
                    } catch {
                        continuation.yield(.ended(Task.isCancelled ? .cancelled : .lost("\(error)")))
                    }
                }
            }
            var created = Set<Int>()
            var end: End = .cancelled
            loop: for await tagged in stream {
                switch tagged {
                case .ended(let why):
                    end = why
                    break loop
                case .message(let message, let index):
                    metrics?.contacted()
                    switch message {
                    case .created:
                        created.insert(index)
                        if created.count == prefixes.count { onAllCreated() }
                    case .progress(let revision):
                        seen[index] = max(seen[index], revision)
                    case .events(_, let events):
                        guard !events.isEmpty else { continue }
                        for event in events where countsDesiredState { metrics?.watchEvent(event.kind) }
                        await onChange(.events(events))
                        seen[index] = max(seen[index], events.map(\.kv.modRevision).max() ?? seen[index])
                    case .compacted(let revision):
                        end = .compacted(revision)
                        break loop
                    case .canceled(let reason):
                        end = .lost("etcd cancelled the watch of \(prefixes[index]): \(reason)")
                        break loop
                    }
                }
            }
            if Task.isCancelled { end = .cancelled }
            group.cancelAll()
            continuation.finish()
            return (end, seen)
        }
    }

    /// Logs a failure loudly the first time and when its reason changes, quietly while it repeats.
    private func report(_ message: String, failures: Int, last: inout String?) {
        let metadata: Logger.Metadata = ["follower": "\(name)", "error": "\(message)", "attempt": "\(failures)"]
        if last != message {
            logger.warning("etcd unreachable; the last good state stays in force, retrying", metadata: metadata)
        } else {
            logger.debug("etcd still unreachable", metadata: metadata)
        }
        last = message
    }

    /// Sleeps the backoff after `failures` failures; false when cancelled meanwhile.
    private func pause(failures: Int) async -> Bool {
        do {
            try await Task.sleep(for: backoff.delay(afterFailures: failures, random: random()))
            return true
        } catch {
            return false
        }
    }
}
