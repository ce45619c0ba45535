/// What made the agent load its config: logged with every applied or rejected config
/// (`trigger=…`), so an operator can tell a file change from a SIGHUP or an admin poll.
public enum ReloadTrigger: String, Sendable, Hashable, CaseIterable {
    /// The first load, before anything runs.
    case startup
    /// `POST /-/reload`.
    case api
    /// The watched config file changed.
    case fileChange = "file change"
    case sighup = "SIGHUP"
    /// A response of the admin service.
    case admin
    /// The admin service's cached last good response (the service did not answer at start).
    case adminCache = "admin cache"
    /// A change of the desired state in etcd (`agent.etcd`).
    case fleet
    /// The fleet cache of an earlier run (etcd did not answer at start).
    case fleetCache = "fleet cache"
}
