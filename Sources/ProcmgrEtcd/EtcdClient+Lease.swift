/// Leases: grant, one keep-alive at a time, revoke.
extension EtcdClient {
    /// Grants a lease of `ttl` (whole seconds, at least 1).
    public func grantLease(ttl: Duration) async throws(EtcdError) -> EtcdLease {
        let seconds = max(1, ttl.components.seconds)
        let answer = try await call("/v3/lease/grant", ["TTL": String(seconds)])
        let what = "lease grant"
        if let error = answer["error"] as? String, !error.isEmpty {
            throw EtcdError(.rejected, "\(what): \(error)")
        }
        let id = try EtcdJSON.int64(answer, "ID", what: what)
        guard id != 0 else { throw EtcdError(.invalidResponse, "\(what): no lease ID in the answer") }
        return EtcdLease(id: id, ttl: .seconds(try EtcdJSON.int64(answer, "TTL", what: what)))
    }

    /// One keep-alive (POST /v3/lease/keepalive); returns the TTL left; throws .leaseNotFound
    /// when the lease expired or was revoked (etcd answers a TTL of 0 then).
    public func keepAlive(lease: Int64) async throws(EtcdError) -> Duration {
        // A streamed call: the answer is one `{"result": …}` per request sent, here exactly one.
        let answer = try await call("/v3/lease/keepalive", ["ID": String(lease)])
        let what = "lease keep-alive \(lease)"
        if let error = answer["error"] {
            throw EtcdError(.rejected, "\(what): \(error)")
        }
        guard let result = answer["result"] as? EtcdJSON.Object else {
            throw EtcdError(.invalidResponse, "\(what): no result in the answer")
        }
        let ttl = try EtcdJSON.int64(result, "TTL", what: what)
        guard ttl > 0 else { throw EtcdError(.leaseNotFound, "\(what): the lease expired or was revoked") }
        return .seconds(ttl)
    }

    /// Revokes `lease`: every key attached to it is deleted.
    public func revoke(lease: Int64) async throws(EtcdError) {
        _ = try await call("/v3/lease/revoke", ["ID": String(lease)])
    }
}
