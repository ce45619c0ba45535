#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProcmgrSupport

/// `user:` and `group:` against the machine: the names must exist, and an agent that is not
/// root may not ask for another identity — refused here with what it needs, instead of every
/// start failing at `setuid` with EPERM.
///
/// `group:` without `user:` is allowed: the child keeps the agent's user with that group, which
/// also takes root unless it is the agent's own group. The agent's ids are parameters (the real
/// ones by default) so the non-root refusal can be tested by a root test process.
enum IdentityChecks {
    static func check(
        user: String?, group: String?, userNode: ConfigNode?, groupNode: ConfigNode?,
        effectiveUID: UInt32 = UserDatabase.effectiveUID, effectiveGID: UInt32 = getegid(),
        problems: inout Problems
    ) {
        var account: UserAccount?
        if let user, let userNode {
            account = UserDatabase.user(user)
            if account == nil { problems.add(userNode, "no user \(ConfigNode.quoted(user)) on this machine") }
        }
        var groupAccount: GroupAccount?
        if let group, let groupNode {
            groupAccount = UserDatabase.group(group)
            if groupAccount == nil { problems.add(groupNode, "no group \(ConfigNode.quoted(group)) on this machine") }
        }
        guard effectiveUID != 0 else { return }
        let agent = "procmgr runs as uid \(effectiveUID)"
        if let account, let user, let userNode, account.uid != effectiveUID {
            problems.add(userNode, "\(ConfigNode.quoted(user)) needs root (\(agent))")
            return
        }
        if let groupAccount, let group, let groupNode, groupAccount.gid != effectiveGID {
            problems.add(groupNode, "\(ConfigNode.quoted(group)) (gid \(groupAccount.gid)) needs root (\(agent), gid \(effectiveGID))")
        } else if groupAccount == nil, group == nil, let account, let user, let userNode, account.gid != effectiveGID {
            problems.add(userNode, "\(ConfigNode.quoted(user))'s primary group (gid \(account.gid)) needs root (\(agent), gid \(effectiveGID))")
        }
    }
}
