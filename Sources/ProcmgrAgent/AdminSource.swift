public import AsyncHTTPClient
import Foundation
public import Logging
public import ProcmgrConfig
public import ProcmgrEngine
public import ProcmgrMetrics
import ProcmgrSupport

/// The admin-service config source (seed 002, SPEC §3.2): polls `GET admin.url` for the process
/// list and hands every *changed* body to the agent, which validates it and answers whether it
/// took it.
///
/// Lifecycle (one instance per agent run; `initial` once, then `run` once):
///
///     initial(accept:) ── live GET, short timeout ──► 200 ─► accept? ─ yes ─► cache it, return it
///            │                                              └─ no ──┐
///            └── unreachable / error ─────────────────────────────────┴► cached body ─► accept? ─ yes ─► return it (fromCache)
///                                                                                     └ none / no ─► throw .noConfig
///     run(deliver:) ── sleep(next delay) ─► GET (If-None-Match: last seen ETag)
///            ▲             200, new body ─► deliver ─ accepted ─► last good + cache
///            │                                      └ rejected ─► remembered, never re-delivered
///            │             200 same body / 304 ─► nothing delivered
///            └── next delay: poll_interval after an answer; backoff (exponential, jitter,
///                capped) after a failure, reset by the next answer
///
/// What counts as a failure: the token file missing or empty (no request is sent), a network
/// error, a timeout (whole exchange, body included), a status other than 2xx/304, a body over
/// `Tuning.maxBodyBytes`. A failure never reaches the agent: it keeps its last good config, and
/// the error is logged (warning on the first of a streak or when the reason changes, debug while
/// it repeats) and counted in `procmgr_admin_fetches_total{result="error"}`.
///
/// A body the agent rejects is not cached and not offered again while the service keeps
/// returning it (same ETag, or same bytes from a service without ETags); the next *different*
/// body is delivered at the next poll. The cache (`admin.cache_file`) only ever holds an accepted
/// body, written atomically.
///
/// The `HTTPClient` belongs to the caller, who shuts it down. Its pool retries refused
/// connections until a request's deadline, so a down service shows up as a timeout after
/// `requestTimeout`; a client configured with `retryConnectionEstablishment = false` reports the
/// refusal at once.
public final class AdminSource: Sendable {
    /// Limits and delays not in the config file; the defaults suit production, tests shrink them.
    public struct Tuning: Sendable, Hashable {
        /// Delays between attempts while the service is failing.
        public var backoff: Backoff
        /// For one poll, body included.
        public var requestTimeout: Duration
        /// For the live attempt in `initial(accept:)`: short, because an agent starting during an
        /// outage should come up from its cache promptly rather than wait out a long timeout.
        public var initialTimeout: Duration
        /// A process list of 10,000 entries is about 2–3 MiB of JSON; anything far beyond is not
        /// a process list and must not be buffered whole.
        public var maxBodyBytes: Int

        public init(
            backoff: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(60), multiplier: 2, jitter: 0.2),
            requestTimeout: Duration = .seconds(10),
            initialTimeout: Duration = .seconds(2),
            maxBodyBytes: Int = 4 << 20
        ) {
            self.backoff = backoff
            self.requestTimeout = requestTimeout
            self.initialTimeout = initialTimeout
            self.maxBodyBytes = maxBodyBytes
        }
    }

    private struct State: Sendable {
        var poll: AdminPollState
        /// The reason of the current failure streak, to log a change of reason loudly.
        var lastFailure: AdminSourceError.Code?
    }

    public let spec: AdminSourceSpec
    private let fetcher: AdminFetcher
    private let cache: DurableCacheFile
    private let tuning: Tuning
    private let metrics: AdminSourceMetrics?
    private let logger: Logger
    private let clock: any Clock<Duration>
    private let random: @Sendable () -> Double
    private let state: LockedState<State>

    /// - Parameters:
    ///   - client: used for every request; owned (and shut down) by the caller.
    ///   - registry: where `procmgr_admin_*` are registered; `nil` for none.
    ///   - clock: paces polls and backoff (timeouts always run on real time).
    ///   - random: a value in `0..<1` per backoff delay, for the jitter.
    /// - Throws: only when `registry` already holds a family of the same name in another shape.
    public init(
        spec: AdminSourceSpec,
        client: HTTPClient,
        logger: Logger,
        registry: MetricsRegistry? = nil,
        tuning: Tuning = Tuning(),
        clock: any Clock<Duration> = ContinuousClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) throws(MetricsRegistryError) {
        self.spec = spec
        fetcher = AdminFetcher(url: spec.url, tokenFile: spec.tokenFile, maxBodyBytes: tuning.maxBodyBytes, client: client)
        cache = DurableCacheFile(path: spec.cacheFile)
        self.tuning = tuning
        if let registry {
            metrics = try AdminSourceMetrics(registry: registry)
        } else {
            metrics = nil
        }
        var logger = logger
        logger[metadataKey: "admin_url"] = "\(spec.url.absoluteString)"
        self.logger = logger
        self.clock = clock
        self.random = random
        state = LockedState(State(poll: AdminPollState(pollInterval: spec.pollInterval, backoff: tuning.backoff)))
    }

    /// The last body the agent accepted (live or from the cache); what a reload of the local
    /// file should merge its new overrides with.
    public var lastGood: AdminBody? { state.withLock { $0.poll.lastGood } }

    /// The body to start from: one live fetch (`Tuning.initialTimeout`), else the cached copy.
    ///
    /// `accept` is the agent's validator (normally `ConfigLoader.mergeAdmin` succeeding) and
    /// answers whether the body will be run. It is passed in rather than applied afterwards
    /// because an invalid live body must fall back to the cache, which only the validator can
    /// tell. An accepted live body is cached; a rejected one is remembered so `run` does not
    /// offer it again. Call once, before `run`.
    /// - Throws: `.noConfig` when neither the service nor the cache gave an accepted body; its
    ///   message says why each failed.
    public func initial(accept: @Sendable (AdminBody) async -> Bool) async throws(AdminSourceError) -> AdminBody {
        let liveFailure: String
        do {
            let outcome = try await fetcher.fetch(ifNoneMatch: nil, timeout: tuning.initialTimeout)
            guard case .body(let data, let etag) = outcome else {
                // invariant: AdminFetcher maps a 304 to an unconditional request to an error.
                preconditionFailure("AdminFetcher returns notModified only to a conditional request")
            }
            metrics?.fetchedChanged()
            state.withLock { _ = $0.poll.succeeded() }
            let body = AdminBody(data: data, etag: etag)
            let accepted = await accept(body)
            state.withLock { $0.poll.delivered(body, accepted: accepted) }
            if accepted {
                store(body)
                logger.info("starting from the admin service's config", metadata: ["etag": "\(etag ?? "none")"])
                return body
            }
            liveFailure = "the admin service's body was rejected"
        } catch {
            metrics?.failed()
            state.withLock { _ = $0.poll.failed(random: random()) }
            liveFailure = error.message
        }
        let cached: Data?
        do {
            cached = try cache.read()
        } catch {
            throw AdminSourceError(code: .noConfig, message: "\(liveFailure); and \(error.message)")
        }
        guard let cached else {
            throw AdminSourceError(
                code: .noConfig,
                message: "\(liveFailure); and there is no cached copy at \(spec.cacheFile) yet: the agent can start without the admin service only after it has answered once")
        }
        let body = AdminBody(data: cached, fromCache: true)
        let accepted = await accept(body)
        state.withLock { $0.poll.adoptedCache(body, accepted: accepted) }
        guard accepted else {
            throw AdminSourceError(
                code: .noConfig,
                message: "\(liveFailure); and the cached copy at \(spec.cacheFile) was rejected too: fix the admin service's process list")
        }
        logger.warning("starting from the cached admin config", metadata: ["cache_file": "\(spec.cacheFile)", "reason": "\(liveFailure)"])
        return body
    }

    /// Polls until the calling task is cancelled, handing each changed body to `deliver` (the
    /// agent validates and applies it, and returns whether it did). Never throws: failures are
    /// logged, counted and retried with backoff. The first poll comes one interval (or one
    /// backoff) after `initial`; without `initial`, at once.
    public func run(deliver: @Sendable (AdminBody) async -> Bool) async {
        var delay = state.withLock { $0.poll.nextDelay }
        while !Task.isCancelled {
            if delay > .zero {
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    return
                }
            }
            guard let next = await poll(deliver: deliver) else { return }
            delay = next
        }
    }

    /// One poll; returns the delay before the next one, or `nil` when cancelled.
    private func poll(deliver: @Sendable (AdminBody) async -> Bool) async -> Duration? {
        let ifNoneMatch = state.withLock { $0.poll.ifNoneMatch }
        let outcome: AdminFetcher.Outcome
        do {
            outcome = try await fetcher.fetch(ifNoneMatch: ifNoneMatch, timeout: tuning.requestTimeout)
        } catch {
            if Task.isCancelled { return nil }
            return failed(error)
        }
        switch outcome {
        case .notModified:
            metrics?.fetchedUnchanged()
        case .body(let data, let etag):
            switch state.withLock({ $0.poll.received(data: data, etag: etag) }) {
            case .unchanged:
                metrics?.fetchedUnchanged()
            case .deliver(let body):
                metrics?.fetchedChanged()
                let accepted = await deliver(body)
                state.withLock { $0.poll.delivered(body, accepted: accepted) }
                if accepted {
                    store(body)
                } else {
                    logger.warning(
                        "admin service body rejected by the agent; keeping the last good config until the service changes it",
                        metadata: ["etag": "\(etag ?? "none")"])
                }
            }
        }
        let (recoveredAfter, delay) = state.withLock { state in
            let failures = state.poll.consecutiveFailures
            state.lastFailure = nil
            return (failures, state.poll.succeeded())
        }
        if recoveredAfter > 0 {
            logger.notice("admin service answering again", metadata: ["failed_polls": "\(recoveredAfter)"])
        }
        return delay
    }

    private func failed(_ error: AdminSourceError) -> Duration {
        metrics?.failed()
        let jitter = random()
        let (delay, failures, reasonChanged) = state.withLock { state in
            let changed = state.lastFailure != error.code
            state.lastFailure = error.code
            return (state.poll.failed(random: jitter), state.poll.consecutiveFailures, changed)
        }
        let metadata: Logger.Metadata = ["failed_polls": "\(failures)", "retry_in": "\(delay)"]
        if reasonChanged {
            logger.warning("admin service poll failed, keeping the last good config: \(error.message)", metadata: metadata)
        } else {
            logger.debug("admin service poll failed again: \(error.message)", metadata: metadata)
        }
        return delay
    }

    /// Caches an accepted body. A failure is logged, not fatal: the agent runs the body anyway,
    /// only a restart during an outage would start from an older copy.
    private func store(_ body: AdminBody) {
        do {
            try cache.store(body.data)
        } catch {
            logger.error("\(error.message)")
        }
    }
}
