import Foundation
import ProcmgrEngine

/// What the poll loop remembers between requests, and what it decides from each outcome.
///
/// A value type with no I/O so the decisions (deliver or not, which ETag to send, how long to
/// wait) are tested synchronously; `AdminSource` performs the requests and the sleeping.
///
/// Two bodies are tracked separately on purpose:
/// - `lastSeen` — the last body handed to the agent, *accepted or not*. Its ETag goes into
///   `If-None-Match`, and a response equal to it (same ETag, or same bytes when the service sends
///   none) is not delivered again: an invalid body is rejected once, not once per poll.
/// - `lastGood` — the last body the agent accepted: what it runs and what the cache holds.
struct AdminPollState: Sendable {
    struct Seen: Sendable, Hashable {
        var etag: String?
        var data: Data
    }

    enum Decision: Sendable, Hashable {
        case deliver(AdminBody)
        case unchanged
    }

    let pollInterval: Duration
    let backoff: Backoff
    private(set) var lastSeen: Seen?
    private(set) var lastGood: AdminBody?
    private(set) var consecutiveFailures = 0
    /// Wait before the next request: zero before the first one, then the poll interval after a
    /// success or the backoff after a failure.
    private(set) var nextDelay: Duration = .zero

    init(pollInterval: Duration, backoff: Backoff) {
        self.pollInterval = pollInterval
        self.backoff = backoff
    }

    /// The validator for a conditional request.
    var ifNoneMatch: String? { lastSeen?.etag }

    /// A `200` arrived with `data`.
    mutating func received(data: Data, etag: String?) -> Decision {
        guard let seen = lastSeen else { return .deliver(AdminBody(data: data, etag: etag)) }
        if let etag, etag == seen.etag { return .unchanged }
        if data == seen.data {
            // Same bytes under a new (or a first) ETag, e.g. after starting from the cache:
            // adopt the ETag so the next poll can be answered with 304.
            lastSeen?.etag = etag
            return .unchanged
        }
        return .deliver(AdminBody(data: data, etag: etag))
    }

    /// The agent answered for `body` (a live one, or the cached one at startup).
    mutating func delivered(_ body: AdminBody, accepted: Bool) {
        lastSeen = Seen(etag: body.etag, data: body.data)
        if accepted { lastGood = body }
    }

    /// The service answered (200 or 304). Returns the delay before the next poll.
    @discardableResult
    mutating func succeeded() -> Duration {
        consecutiveFailures = 0
        nextDelay = pollInterval
        return nextDelay
    }

    /// The request failed. Returns the backoff before the next attempt.
    /// - Parameter random: a value in `0..<1` for the jitter.
    @discardableResult
    mutating func failed(random: Double) -> Duration {
        consecutiveFailures += 1
        nextDelay = backoff.delay(afterFailures: consecutiveFailures, random: random)
        return nextDelay
    }
}

extension AdminPollState {
    /// `initial` fell back to the cached body. It becomes the last good one if accepted, but the
    /// last *seen* only when nothing was seen live: a live body the agent just rejected must stay
    /// the one `If-None-Match` names, or the next poll would offer it again.
    mutating func adoptedCache(_ body: AdminBody, accepted: Bool) {
        if lastSeen == nil { lastSeen = Seen(etag: nil, data: body.data) }
        if accepted { lastGood = body }
    }
}
