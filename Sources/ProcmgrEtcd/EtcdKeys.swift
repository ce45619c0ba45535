/// Key arithmetic of etcd's v3 API.
public enum EtcdKeys {
    /// The `range_end` that selects every key starting with `prefix`: the prefix with its last
    /// byte incremented (bytes of 0xff are dropped first, as etcd's clients do). An empty result
    /// means "to the end of the key space", which etcd spells as a single zero byte.
    public static func prefixEnd(_ prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }
}

/// Revision arithmetic on values that come off the wire.
public enum EtcdRevision {
    /// The revision to watch from to follow on after `revision`, saturating: a revision of
    /// `Int64.max` from a broken or hostile endpoint must not trap the agent in `+ 1`.
    public static func after(_ revision: Int64) -> Int64 {
        revision == .max ? .max : revision + 1
    }
}
