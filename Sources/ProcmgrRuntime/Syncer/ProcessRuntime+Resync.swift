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

    /// The outcome for a program that runs and needs nothing until its next safety resync.
    func idleResync() -> SyncOutcome {
        .resync(after: Self.idleResyncInterval * (1 + 0.5 * random()))
    }
}
