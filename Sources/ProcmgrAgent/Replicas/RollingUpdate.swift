/// Which replicas of one replicated process to move to a new config, and when: the policy of a
/// rolling restart, as a value with no clock and no I/O so every step can be tested alone.
///
/// Like a Kubernetes Deployment's `maxUnavailable`: at most `maxUnavailable` replicas may be
/// unavailable at once, counting both replicas told to update that have not come back ready on the
/// new config and replicas that are not ready for reasons of their own (crashed, failing
/// readiness). A replica that is already unavailable on the old config may be updated at any time:
/// restarting it costs no availability, and waiting for it would stall the rollout. So with the
/// default of one, a hostname served by several replicas never loses all its ready endpoints
/// because of the rollout.
///
/// A newer config arriving mid-rollout is a new `RollingUpdate` (the driver's job): replicas
/// already on the newest config are observed as such and not restarted again.
public struct RollingUpdate: Sendable, Hashable {
    /// What is known of one replica now.
    public struct Observation: Sendable, Hashable {
        public var id: String
        /// Its program runs the config this rollout moves to.
        public var onNewConfig: Bool
        /// It serves (ready, or running when it has no readiness probe).
        public var ready: Bool

        public init(id: String, onNewConfig: Bool, ready: Bool) {
            self.id = id
            self.onNewConfig = onNewConfig
            self.ready = ready
        }
    }

    private struct Replica: Sendable, Hashable {
        var observation: Observation
        /// Told to update and not yet observed on the new config.
        var requested = false

        /// Not serving now, or about to stop serving because it was told to restart.
        var unavailable: Bool { !observation.ready || (requested && !observation.onNewConfig) }
    }

    /// In update order (lowest index first, as given).
    private var replicas: [Replica]
    public let maxUnavailable: Int

    /// - Parameters:
    ///   - replicas: every replica of the process as observed now, in the order to update them.
    ///   - maxUnavailable: `update.max_unavailable`; values below 1 count as 1 (a rollout must
    ///     be able to move).
    public init(replicas: [Observation], maxUnavailable: Int) {
        self.replicas = replicas.map { Replica(observation: $0) }
        self.maxUnavailable = max(1, maxUnavailable)
    }

    /// Records what is now known of one replica; an id not in this rollout is ignored.
    public mutating func observe(_ observation: Observation) {
        guard let index = replicas.firstIndex(where: { $0.observation.id == observation.id }) else { return }
        replicas[index].observation = observation
        if observation.onNewConfig { replicas[index].requested = false }
    }

    /// Takes a replica out of the rollout (scaled down or removed while it runs).
    public mutating func remove(_ id: String) {
        replicas.removeAll { $0.observation.id == id }
    }

    /// The replicas to update now; each is returned once (until observed on the new config, it
    /// counts as unavailable).
    public mutating func next() -> [String] {
        var chosen: [String] = []
        // Replicas already down on the old config first: restarting them costs nothing.
        for index in replicas.indices where !replicas[index].observation.onNewConfig && !replicas[index].requested
            && !replicas[index].observation.ready {
            replicas[index].requested = true
            chosen.append(replicas[index].observation.id)
        }
        var unavailable = replicas.count(where: { $0.unavailable })
        for index in replicas.indices where !replicas[index].observation.onNewConfig && !replicas[index].requested {
            guard unavailable < maxUnavailable else { break }
            replicas[index].requested = true
            unavailable += 1
            chosen.append(replicas[index].observation.id)
        }
        return chosen
    }

    /// Every replica runs the new config and is ready.
    public var isComplete: Bool {
        replicas.allSatisfy { $0.observation.onNewConfig && $0.observation.ready }
    }

    /// How many replicas run the new config (for the progress log).
    public var updatedCount: Int { replicas.count(where: { $0.observation.onNewConfig }) }

    public var replicaCount: Int { replicas.count }

    public func contains(_ id: String) -> Bool {
        replicas.contains { $0.observation.id == id }
    }
}
