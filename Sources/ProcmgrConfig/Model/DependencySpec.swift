/// What a dependency must reach before its dependent starts (`depends_on.X.condition`).
public enum DependencyCondition: String, Sendable, Hashable, CaseIterable {
    case started, running, ready, healthy, completedSuccessfully = "completed_successfully"
}

/// One entry of `depends_on`.
public struct DependencySpec: Sendable, Hashable {
    public var condition: DependencyCondition
    /// Restart the dependent when this dependency starts a new program.
    public var restart: Bool

    public init(condition: DependencyCondition, restart: Bool = false) {
        self.condition = condition
        self.restart = restart
    }
}
