import Glibc

/// A user account as the system's user database (NSS: `/etc/passwd`, LDAP, …) knows it.
public struct UserAccount: Sendable, Hashable {
    public var name: String
    public var uid: UInt32
    /// The primary group (`pw_gid`).
    public var gid: UInt32
    public var home: String
    public var shell: String
}

/// A group as the system's group database knows it.
public struct GroupAccount: Sendable, Hashable {
    public var name: String
    public var gid: UInt32
}

/// Look-ups in the user and group databases, by name or number, with the re-entrant `_r` calls.
///
/// Why one place: config validation (does `user:` exist?) and the runtime (which uid, gid and
/// supplementary groups does the child get?) must agree on what a name means, including the
/// rule that a string of digits is a number even when no account has it (like `chown 1234`).
/// Look-ups may allocate and take NSS locks, so they happen in the agent, never in a child
/// between clone and exec.
public enum UserDatabase {
    /// The account `nameOrNumber` names: a name is looked up; digits are a uid, which need not
    /// have an entry (then the account is named by its number, with `/` as home and primary
    /// group = the uid). `nil` when a name has no entry.
    public static func user(_ nameOrNumber: String) -> UserAccount? {
        if let uid = UInt32(nameOrNumber) {
            return lookupUser(uid: uid) ?? UserAccount(name: nameOrNumber, uid: uid, gid: uid, home: "/", shell: "/bin/sh")
        }
        return lookupUser(name: nameOrNumber)
    }

    /// The group `nameOrNumber` names (digits are a gid, with or without an entry); `nil` when a
    /// name has no entry.
    public static func group(_ nameOrNumber: String) -> GroupAccount? {
        if let gid = UInt32(nameOrNumber) {
            return lookupGroup(gid: gid) ?? GroupAccount(name: nameOrNumber, gid: gid)
        }
        return withBuffer { buffer in
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            guard let base = buffer.baseAddress else { return (ENOMEM, nil) }
            let status = getgrnam_r(nameOrNumber, &entry, base, buffer.count, &result)
            return (status, result.map { _ in GroupAccount(name: nameOrNumber, gid: entry.gr_gid) })
        }
    }

    /// The user's supplementary groups as `initgroups(3)` would set them: every group that lists
    /// the user as a member, plus `primary`. Empty for a user without a name entry (a bare uid).
    public static func supplementaryGroups(of user: UserAccount, primary: UInt32) -> [UInt32] {
        guard lookupUser(uid: user.uid)?.name == user.name else { return [primary] }
        var count: Int32 = 32
        for _ in 0..<8 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            if getgrouplist(user.name, primary, &groups, &found) >= 0 {
                return Array(groups.prefix(Int(found)))
            }
            // -1: the buffer was too small; `found` now says how many there are.
            count = max(found, count * 2)
        }
        return [primary]
    }

    /// The effective uid of the agent (0: it may run children as anyone).
    public static var effectiveUID: UInt32 { geteuid() }

    private static func lookupUser(name: String) -> UserAccount? {
        withBuffer { buffer in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            guard let base = buffer.baseAddress else { return (ENOMEM, nil) }
            let status = getpwnam_r(name, &entry, base, buffer.count, &result)
            return (status, result.map { _ in account(entry) })
        }
    }

    private static func lookupUser(uid: UInt32) -> UserAccount? {
        withBuffer { buffer in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            guard let base = buffer.baseAddress else { return (ENOMEM, nil) }
            let status = getpwuid_r(uid, &entry, base, buffer.count, &result)
            return (status, result.map { _ in account(entry) })
        }
    }

    private static func lookupGroup(gid: UInt32) -> GroupAccount? {
        withBuffer { buffer in
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            guard let base = buffer.baseAddress else { return (ENOMEM, nil) }
            let status = getgrgid_r(gid, &entry, base, buffer.count, &result)
            return (status, result.map { _ in GroupAccount(name: entry.gr_name.map { String(cString: $0) } ?? "\(gid)", gid: gid) })
        }
    }

    private static func account(_ entry: passwd) -> UserAccount {
        UserAccount(
            name: entry.pw_name.map { String(cString: $0) } ?? "\(entry.pw_uid)",
            uid: entry.pw_uid,
            gid: entry.pw_gid,
            home: entry.pw_dir.map { String(cString: $0) } ?? "/",
            shell: entry.pw_shell.map { String(cString: $0) } ?? "/bin/sh")
    }

    /// Runs a `_r` look-up with a buffer that grows on ERANGE (bounded at 1 MiB: an entry larger
    /// than that is treated as missing rather than allocated without end).
    private static func withBuffer<T>(_ body: (UnsafeMutableBufferPointer<CChar>) -> (Int32, T?)) -> T? {
        var size = 1024
        while size <= 1 << 20 {
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let (status, value) = body(buffer)
            if status == ERANGE {
                size *= 4
                continue
            }
            return status == 0 ? value : nil
        }
        return nil
    }
}
