import ProcmgrSupport

/// A process's recent output, kept across restarts: a ``StreamRing`` of lines, so the API can
/// answer `?tail=N` and follow new lines (`?follow=true`) from the same history, with line ids
/// that keep increasing across the process's restarts (and, starting at the wall clock in
/// microseconds, across the agent's).
final class RecentLines: Sendable {
    /// Lines one follower may have waiting before it is dropped: a follower reading slower than
    /// the program writes falls this far behind (a few seconds of a fast writer) and is then
    /// closed and counted, so it can never hold the capture thread or unbounded memory.
    static let followerBuffer = 8_192

    let ring: StreamRing<CapturedLine>

    init(capacity: Int) {
        ring = StreamRing(capacity: max(1, capacity), subscriberBuffer: Self.followerBuffer, firstID: StreamRing<CapturedLine>.epochID())
        keepsLines = capacity > 0
    }

    private let keepsLines: Bool

    func append(_ line: CapturedLine) {
        guard keepsLines else { return }
        ring.append(line)
    }

    /// Oldest first.
    var lines: [CapturedLine] {
        keepsLines ? ring.tail(ring.capacity).map(\.element) : []
    }
}
