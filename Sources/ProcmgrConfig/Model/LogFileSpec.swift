/// Where a process's stdout/stderr go, rotated at `maxBytes` keeping `keep`
/// old files (`path.1` … `path.<keep>`).
public struct LogFileSpec: Sendable, Hashable {
    /// Absolute when loaded from a file (resolved against its directory).
    public var path: String
    public var maxBytes: Int
    public var keep: Int

    public init(path: String, maxBytes: Int = ConfigDefaults.logMaxBytes, keep: Int = ConfigDefaults.logKeep) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
    }
}
