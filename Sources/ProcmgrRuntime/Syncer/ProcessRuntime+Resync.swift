import ProcmgrEngine

extension ProcessRuntime {
    /// How long a healthy running program goes without a periodic resync (plus up to half of it
    /// again, at random, so programs started together do not resync together).
    ///
    /// Why so much longer than the engine's 30 s default: kubelet resyncs pods often because it
    /// learns about containers partly by polling. This runtime polls nothing — every event that
    /// needs a sync is pushed to the engine as it happens: an exit by the exit watcher
    /// (``bind(to:)``'s `requestSync`), a restart request (API, missed heartbeat) by
    /// ``requestRestart(of:)`` and the heartbeat monitor, a config change by the engine's own
    /// `update`. A periodic resync of a healthy child finds nothing to do, yet with 1,000
    /// children every 30 s its wakeups were ~1.3 % of a core while idle. It stays only as a
    /// safety net against a lost notification, so it can be rare.
    public static let idleResyncInterval: Duration = .seconds(600)

    /// The agent-wide pace of idle resyncs: on average at most one every this long. A resync of
    /// an idle program costs ~0.4 ms of CPU (a worker wake-up, the engine's bookkeeping, the
    /// sync); at 10,000 programs every 600–900 s that was 13 a second, ~0.5 % of a core — ten
    /// times an idle agent's whole budget. So past 300 programs the interval grows with their
    /// number (10,000 programs: every 20,000–30,000 s each, one resync every 2 s in all).
    public static let idleResyncSpacing: Duration = .seconds(2)

    /// The idle resync interval for `programs` programs.
    public static func idleResyncInterval(programs: Int) -> Duration {
        max(idleResyncInterval, idleResyncSpacing * max(0, programs))
    }

    /// The outcome for a program that runs and needs nothing until its next safety resync.
    func idleResync() -> SyncOutcome {
        let programs = instances.withLock { $0.count }
        return .resync(after: Self.idleResyncInterval(programs: programs) * (1 + 0.5 * random()))
    }
}
