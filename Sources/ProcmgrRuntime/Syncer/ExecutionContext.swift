import Glibc
import ProcmgrSupport

/// Who a program runs as, what it may use and what runs around it (`user`, `group`, `limits`,
/// `hooks`): the same for the program and its hooks.
public struct ExecutionContext: Sendable, Hashable {
    /// Name or number; `nil`: the agent's own user. Resolved at every start, so a changed
    /// account applies to the next program.
    public var user: String?
    /// Name or number; `nil`: the user's primary group (or the agent's own group).
    public var group: String?
    /// rlimits set in the child before `exec` (`limits.nofile`, `nproc`, `core`, `memlock`, `stack`).
    public var resourceLimits: [ResourceLimit]
    /// What the process's cgroup caps (`limits.memory`, `cpu`, `pids`).
    public var cgroupLimits: CgroupLimits
    public var hooks: HookSettings?

    public init(
        user: String? = nil, group: String? = nil, resourceLimits: [ResourceLimit] = [], cgroupLimits: CgroupLimits = CgroupLimits(),
        hooks: HookSettings? = nil
    ) {
        self.user = user
        self.group = group
        self.resourceLimits = resourceLimits
        self.cgroupLimits = cgroupLimits
        self.hooks = hooks
    }

    /// The identity to switch to, or `nil` to keep the agent's. A `group:` alone keeps the
    /// agent's user with that group.
    ///
    /// An agent that is not root may name its own user and group (validation allows exactly
    /// that): nothing is switched then, because even setting its own supplementary groups
    /// needs a privilege it does not have.
    func identity() throws(IdentityError) -> ProcessIdentity? {
        guard user != nil || group != nil else { return nil }
        let identity = try ProcessIdentity.resolve(user: user ?? "\(UserDatabase.effectiveUID)", group: group)
        if UserDatabase.effectiveUID != 0, identity.uid == UserDatabase.effectiveUID, identity.gid == getegid() { return nil }
        return identity
    }
}
