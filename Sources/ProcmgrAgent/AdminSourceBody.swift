public import Foundation

/// One admin-service response body on its way to the agent.
///
/// `data` is the body exactly as the service sent it (and as the cache file holds it):
/// `ConfigLoader.mergeAdmin(response:into:)` parses it either way.
public struct AdminBody: Sendable, Hashable {
    public var data: Data
    /// The service's `ETag` for this body, if it sent one; `nil` for a body read from the cache.
    public var etag: String?
    /// True when the body came from the on-disk cache because the service was unreachable at
    /// startup; the agent may want to say so in its logs and readiness.
    public var fromCache: Bool

    public init(data: Data, etag: String? = nil, fromCache: Bool = false) {
        self.data = data
        self.etag = etag
        self.fromCache = fromCache
    }
}
