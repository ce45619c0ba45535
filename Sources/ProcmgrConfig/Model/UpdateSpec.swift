/// How the replicas of a process are replaced when its config changes: at
/// most `maxUnavailable` of them are stopped and not yet ready again at once.
public struct UpdateSpec: Sendable, Hashable {
    public var maxUnavailable: Int

    public init(maxUnavailable: Int = ConfigDefaults.maxUnavailable) {
        self.maxUnavailable = maxUnavailable
    }

    public static let `default` = UpdateSpec()
}
