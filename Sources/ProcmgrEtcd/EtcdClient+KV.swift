public import Foundation

/// Reads, writes, transactions, compaction and status.
extension EtcdClient {
    /// Keys per page of ``range(prefix:revision:)``.
    static let pageSize = 1000

    /// Every key under `prefix` at `revision` (nil: now), read in pages of 1000 at one revision.
    public func range(prefix: String, revision: Int64? = nil) async throws(EtcdError) -> EtcdRange {
        let end = EtcdJSON.base64(EtcdKeys.prefixEnd(prefix))
        var start = prefix.isEmpty ? [UInt8(0)] : Array(prefix.utf8)
        var atRevision = revision ?? 0
        var kvs: [EtcdKeyValue] = []
        while true {
            var body: EtcdJSON.Object = ["key": EtcdJSON.base64(start), "range_end": end, "limit": Self.pageSize]
            if atRevision > 0 { body["revision"] = String(atRevision) }
            let answer = try await call("/v3/kv/range", body)
            let what = "range \(prefix)"
            if atRevision == 0 { atRevision = try EtcdJSON.headerRevision(answer, what: what) }
            let page = try EtcdJSON.keyValues(answer, what: what)
            kvs.append(contentsOf: page)
            guard answer["more"] as? Bool == true, let last = page.last else { break }
            // The next page starts right after the last key: the key with a zero byte appended.
            start = Array(last.key.utf8) + [0]
        }
        return EtcdRange(revision: atRevision, kvs: kvs)
    }

    /// One key, or nil when it is absent.
    public func get(key: String) async throws(EtcdError) -> EtcdKeyValue? {
        let answer = try await call("/v3/kv/range", ["key": EtcdJSON.base64(key)])
        return try EtcdJSON.keyValues(answer, what: "get \(key)").first
    }

    /// Writes `key`; returns the store revision of the write.
    @discardableResult
    public func put(key: String, value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        let answer = try await call("/v3/kv/put", Self.putRequest(key: key, value: value, lease: lease))
        return try EtcdJSON.headerRevision(answer, what: "put \(key)")
    }

    /// Deletes `key`; returns the store revision after it.
    @discardableResult
    public func delete(key: String) async throws(EtcdError) -> Int64 {
        let answer = try await call("/v3/kv/deleterange", ["key": EtcdJSON.base64(key)])
        return try EtcdJSON.headerRevision(answer, what: "delete \(key)")
    }

    /// Deletes every key under `prefix`; returns the store revision after it.
    @discardableResult
    public func delete(prefix: String) async throws(EtcdError) -> Int64 {
        let answer = try await call("/v3/kv/deleterange", Self.deletePrefixRequest(prefix))
        return try EtcdJSON.headerRevision(answer, what: "delete prefix \(prefix)")
    }

    /// If every compare holds, runs `success`, else `failure`.
    public func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation] = []) async throws(EtcdError) -> EtcdTxnResult {
        let body: EtcdJSON.Object = [
            "compare": compare.map(Self.compareRequest),
            "success": success.map(Self.operationRequest),
            "failure": failure.map(Self.operationRequest),
        ]
        let answer = try await call("/v3/kv/txn", body)
        let what = "txn"
        let succeeded = answer["succeeded"] as? Bool ?? false
        var ranges: [[EtcdKeyValue]] = []
        for response in answer["responses"] as? [EtcdJSON.Object] ?? [] {
            if let range = response["response_range"] as? EtcdJSON.Object {
                ranges.append(try EtcdJSON.keyValues(range, what: what))
            }
        }
        let expected = (succeeded ? success : failure).filter { if case .get = $0 { true } else { false } }.count
        guard ranges.count == expected else {
            throw EtcdError(.invalidResponse, "txn: \(expected) gets in the branch that ran, \(ranges.count) ranges in the answer")
        }
        return EtcdTxnResult(succeeded: succeeded, revision: try EtcdJSON.headerRevision(answer, what: what), ranges: ranges)
    }

    /// Compacts the history up to `revision` and waits until it is applied (tests, benchmarks).
    public func compact(revision: Int64) async throws(EtcdError) {
        _ = try await call("/v3/kv/compaction", ["revision": String(revision), "physical": true])
    }

    /// The endpoint that answered and the store's current revision.
    public func status() async throws(EtcdError) -> (endpoint: URL, revision: Int64) {
        let (endpoint, answer) = try await callReturningEndpoint("/v3/maintenance/status", [:])
        return (endpoint, try EtcdJSON.headerRevision(answer, what: "status of \(endpoint)"))
    }

    static func putRequest(key: String, value: [UInt8], lease: Int64) -> EtcdJSON.Object {
        var body: EtcdJSON.Object = ["key": EtcdJSON.base64(key), "value": EtcdJSON.base64(value)]
        if lease != 0 { body["lease"] = String(lease) }
        return body
    }

    static func deletePrefixRequest(_ prefix: String) -> EtcdJSON.Object {
        ["key": EtcdJSON.base64(prefix.isEmpty ? [0] : Array(prefix.utf8)), "range_end": EtcdJSON.base64(EtcdKeys.prefixEnd(prefix))]
    }

    static func compareRequest(_ compare: EtcdCompare) -> EtcdJSON.Object {
        switch compare {
        case .createRevision(let key, let revision):
            ["target": "CREATE", "result": "EQUAL", "key": EtcdJSON.base64(key), "create_revision": String(revision)]
        case .value(let key, let value):
            ["target": "VALUE", "result": "EQUAL", "key": EtcdJSON.base64(key), "value": EtcdJSON.base64(value)]
        case .lease(let key, let lease):
            ["target": "LEASE", "result": "EQUAL", "key": EtcdJSON.base64(key), "lease": String(lease)]
        }
    }

    static func operationRequest(_ operation: EtcdOperation) -> EtcdJSON.Object {
        switch operation {
        case .put(let key, let value, let lease):
            ["request_put": putRequest(key: key, value: value, lease: lease)]
        case .delete(let key):
            ["request_delete_range": ["key": EtcdJSON.base64(key)]]
        case .deletePrefix(let prefix):
            ["request_delete_range": deletePrefixRequest(prefix)]
        case .get(let key):
            ["request_range": ["key": EtcdJSON.base64(key)]]
        }
    }
}
