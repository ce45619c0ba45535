import ProcmgrSupport

/// Who a child runs as: the uid, gid and supplementary groups its spawn switches to.
///
/// Resolved in the agent, where look-ups may allocate and take NSS locks; the child between
/// clone and exec only issues the raw setgroups/setgid/setuid syscalls with these numbers.
public struct ProcessIdentity: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    /// Set as they are (an empty list drops every group the agent has).
    public var supplementaryGroups: [UInt32]
    /// For `USER` / `LOGNAME` (a uid without an account entry is named by its number).
    public var userName: String
    /// For `HOME` (`/` for a uid without an account entry).
    public var home: String

    public init(uid: UInt32, gid: UInt32, supplementaryGroups: [UInt32], userName: String, home: String) {
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
        self.userName = userName
        self.home = home
    }

    /// Resolves `user` and `group` (names or numbers) as login does: the gid defaults to the
    /// user's primary group, and the supplementary groups are every group listing the user plus
    /// the gid (`initgroups(3)`). A string of digits is a number even without an entry.
    public static func resolve(user: String, group: String?) throws(IdentityError) -> ProcessIdentity {
        guard let account = UserDatabase.user(user) else { throw .unknownUser(user) }
        var gid = account.gid
        if let group {
            guard let entry = UserDatabase.group(group) else { throw .unknownGroup(group) }
            gid = entry.gid
        }
        return ProcessIdentity(
            uid: account.uid, gid: gid,
            supplementaryGroups: UserDatabase.supplementaryGroups(of: account, primary: gid),
            userName: account.name, home: account.home)
    }

    /// `environment` with `HOME`, `USER` and `LOGNAME` added as login sets them; a value the
    /// environment already has (the config's `env:`) wins.
    public func loginEnvironment(over environment: [String: String]) -> [String: String] {
        var result = environment
        for (key, value) in [("HOME", home), ("USER", userName), ("LOGNAME", userName)] where result[key] == nil {
            result[key] = value
        }
        return result
    }
}

/// Why `user:` / `group:` name nobody on this machine.
public enum IdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownUser(String)
    case unknownGroup(String)

    public var description: String {
        switch self {
        case .unknownUser(let name): "no user \(name.debugDescription) on this machine"
        case .unknownGroup(let name): "no group \(name.debugDescription) on this machine"
        }
    }
}
