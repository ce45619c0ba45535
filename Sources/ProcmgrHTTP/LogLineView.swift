/// One captured output line of a managed process.
public struct LogLineView: Codable, Sendable, Hashable {
    /// `stdout` or `stderr`.
    public var stream: String
    /// The line without its newline.
    public var text: String

    public init(stream: String, text: String) {
        self.stream = stream
        self.text = text
    }
}
