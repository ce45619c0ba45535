/// One key with its value and metadata, as etcd stores it.
public struct EtcdKeyValue: Sendable, Hashable {
    /// The key as UTF-8 text (procmgr's keys are text; invalid bytes are replaced).
    public var key: String
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    /// The lease the key is attached to; 0 for none.
    public var lease: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// Every key of a prefix at one revision.
public struct EtcdRange: Sendable, Hashable {
    /// The store revision the keys were read at (watch from `revision + 1` to follow on).
    public var revision: Int64
    public var kvs: [EtcdKeyValue]

    public init(revision: Int64, kvs: [EtcdKeyValue]) {
        self.revision = revision
        self.kvs = kvs
    }
}

/// One change seen by a watch.
public struct EtcdEvent: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case put, delete
    }

    public var kind: Kind
    /// For a delete, only `key` and `modRevision` (the deletion's revision) are set.
    public var kv: EtcdKeyValue

    public init(kind: Kind, kv: EtcdKeyValue) {
        self.kind = kind
        self.kv = kv
    }
}

/// One message of a watch stream.
public enum EtcdWatchMessage: Sendable, Hashable {
    /// The watch is registered (header revision).
    case created(revision: Int64)
    /// Changes, in revision order; `revision` is the response's header revision.
    case events(revision: Int64, [EtcdEvent])
    /// Progress notification: nothing changed under the prefix up to `revision`.
    case progress(revision: Int64)
    /// The start revision was compacted: the watch is over; re-read the prefix.
    case compacted(compactRevision: Int64)
    /// Any other cancellation by etcd: the watch is over.
    case canceled(reason: String)
}

/// A granted lease.
public struct EtcdLease: Sendable, Hashable {
    public var id: Int64
    public var ttl: Duration

    public init(id: Int64, ttl: Duration) {
        self.id = id
        self.ttl = ttl
    }
}

/// One condition of a transaction.
public enum EtcdCompare: Sendable, Hashable {
    /// `equals: 0` means the key is absent.
    case createRevision(key: String, equals: Int64)
    case value(key: String, equals: [UInt8])
    case lease(key: String, equals: Int64)
}

/// One operation of a transaction branch.
public enum EtcdOperation: Sendable, Hashable {
    /// `lease: 0` attaches no lease.
    case put(key: String, value: [UInt8], lease: Int64)
    case delete(key: String)
    case deletePrefix(String)
    /// Its kvs come back in ``EtcdTxnResult/ranges``.
    case get(key: String)
}

/// What a transaction did.
public struct EtcdTxnResult: Sendable, Hashable {
    /// Whether every compare held (the success branch ran).
    public var succeeded: Bool
    public var revision: Int64
    /// The kvs of each `.get` of the branch that ran, in order.
    public var ranges: [[EtcdKeyValue]]

    public init(succeeded: Bool, revision: Int64, ranges: [[EtcdKeyValue]]) {
        self.succeeded = succeeded
        self.revision = revision
        self.ranges = ranges
    }
}
