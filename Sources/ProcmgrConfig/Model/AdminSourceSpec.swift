public import Foundation

/// An admin service the agent polls for its process list
/// (`GET url` → `{"processes":[...]}`), merged under the local file's
/// process entries, which then act as per-field overrides.
public struct AdminSourceSpec: Sendable, Hashable {
    public var url: URL
    /// File holding a bearer token sent to the admin service, if any.
    public var tokenFile: String?
    public var pollInterval: Duration
    /// Where the last good admin response is kept, so the agent can start with
    /// it while the service is unreachable. Defaults to
    /// `<state_dir>/admin-cache.json`. The file holds the response body as
    /// received; `ConfigLoader.mergeAdmin` reads it like a live response.
    public var cacheFile: String

    public init(url: URL, tokenFile: String? = nil, pollInterval: Duration = ConfigDefaults.adminPollInterval, cacheFile: String) {
        self.url = url
        self.tokenFile = tokenFile
        self.pollInterval = pollInterval
        self.cacheFile = cacheFile
    }
}
