/// What a dependency must have reached before its dependent is started, in
/// docker compose's vocabulary (`service_started`, `service_healthy`,
/// `service_completed_successfully`) plus kubelet's readiness.
public enum DependencyCondition: String, Sendable, Hashable, CaseIterable {
    /// A child has been spawned.
    case started
    /// A child is alive and its startup probe (if any) has passed.
    case running
    /// Readiness passes (and READY=1 was seen when `notify` is on).
    case ready
    /// Liveness passes.
    case healthy
    /// The last run exited with status 0 (jobs, migrations).
    case completedSuccessfully = "completed_successfully"
}

/// One entry of `depends_on`.
public struct DependencySpec: Sendable, Hashable {
    public var condition: DependencyCondition
    /// Restart the dependent when the dependency restarts (compose's `restart: true`).
    public var restart: Bool

    public init(condition: DependencyCondition = ConfigDefaults.dependencyCondition, restart: Bool = false) {
        self.condition = condition
        self.restart = restart
    }
}
