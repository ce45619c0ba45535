/// Replica counts set through `POST /api/v1/processes/{id}/scale`, each kept only while the
/// process's config stays what it was when the operator scaled it, like `stop`: the operator's
/// decision answers the config it was made against, and a changed config is a new decision.
///
/// Generic over what "the config" is so the rule is tested without a whole process spec.
public struct ScaleOverrides<Config: Hashable & Sendable>: Sendable {
    private var overrides: [String: (count: Int, config: Config)] = [:]

    public init() {}

    /// Records a scale of `id` made while its config was `config`.
    public mutating func set(_ id: String, count: Int, config: Config) {
        overrides[id] = (count, config)
    }

    /// The replica count to run for `id` now that its config is `config`: the override while
    /// the config is unchanged, else `configured` (and the override is forgotten).
    public mutating func count(for id: String, config: Config, configured: Int) -> Int {
        guard let override = overrides[id] else { return configured }
        guard override.config == config else {
            overrides[id] = nil
            return configured
        }
        return override.count
    }

    /// Forgets overrides of ids no longer configured (or no longer replicated).
    public mutating func keepOnly(_ ids: Set<String>) {
        overrides = overrides.filter { ids.contains($0.key) }
    }

    public func override(of id: String) -> Int? { overrides[id]?.count }
}
