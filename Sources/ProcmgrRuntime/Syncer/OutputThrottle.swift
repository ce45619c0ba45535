/// Decides which of one process's output lines reach the agent's own log: a token bucket per
/// process, and a periodic count of what it held back. A value type with an injected `now`.
///
/// Why: every line a child prints used to be copied into the agent's log, so a chatty or
/// flooding child made the agent's log larger than its own output and buried the agent's
/// messages. The `/logs` API and the `log_file` still get every line; only the agent's copy is
/// limited.
struct OutputThrottle<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    struct Decision: Sendable, Hashable {
        /// The line goes to the agent's log.
        var log: Bool
        /// Before it (or instead of it), note that this many lines were held back.
        var noteSuppressed: Int?
    }

    private var bucket: TokenBucket<Instant>
    private let noteInterval: Duration
    /// Lines held back and not yet noted.
    private(set) var unnoted = 0
    private var notedAt: Instant

    init(burst: Int, linesPerSecond: Double, noteInterval: Duration, now: Instant) {
        bucket = TokenBucket(capacity: burst, refillPerSecond: linesPerSecond, now: now)
        self.noteInterval = noteInterval
        notedAt = now
    }

    /// One line arrived at `now`. Held-back lines are noted at most once per `noteInterval`,
    /// so a sustained flood costs the log one note per interval besides the admitted lines.
    mutating func admit(now: Instant) -> Decision {
        let log = bucket.take(now: now)
        if !log { unnoted += 1 }
        guard unnoted > 0, notedAt.duration(to: now) >= noteInterval else { return Decision(log: log) }
        defer { unnoted = 0 }
        notedAt = now
        return Decision(log: log, noteSuppressed: unnoted)
    }

    /// The lines held back and not yet noted (the program stopped): noted now, if any.
    mutating func flush(now: Instant) -> Int? {
        guard unnoted > 0 else { return nil }
        defer { unnoted = 0 }
        notedAt = now
        return unnoted
    }
}
