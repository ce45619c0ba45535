/// The facts about a process that dependency conditions (`depends_on`), routes and the ready
/// gauge are computed from. Every field is about the current child: a process with no child
/// running is neither started-up, ready nor healthy.
public struct ProcessConditions: Sendable, Hashable {
    /// A child is alive now.
    public var programRunning: Bool
    /// The startup probe succeeded once for this child (true without one, while running).
    public var startupPassed: Bool
    /// The readiness probe passes (true without one) and, when notify is on, READY=1 was seen.
    public var ready: Bool
    /// The liveness probe passes (true without one, while running).
    public var healthy: Bool
    /// nil = never exited; true = the last run exited with status 0.
    public var lastExitSucceeded: Bool?

    public init(programRunning: Bool, startupPassed: Bool, ready: Bool, healthy: Bool, lastExitSucceeded: Bool?) {
        self.programRunning = programRunning
        self.startupPassed = startupPassed
        self.ready = ready
        self.healthy = healthy
        self.lastExitSucceeded = lastExitSucceeded
    }
}
