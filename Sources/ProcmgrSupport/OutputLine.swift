/// Which pipe a line came from.
public enum OutputStreamKind: String, Sendable, Hashable {
    case stdout
    case stderr
}

/// One line of a child's output.
///
/// Lives here, below the runtime that captures it and the HTTP layer that streams it
/// (`…/logs?follow=true`), so both can share one ``StreamRing`` of lines without either
/// depending on the other.
public struct OutputLine: Sendable, Hashable {
    public var stream: OutputStreamKind
    /// The line without its newline; ends with ` …[truncated N bytes]` when cut.
    public var text: String
    /// Bytes discarded from this line (0 when complete).
    public var truncatedBytes: Int

    public init(stream: OutputStreamKind, text: String, truncatedBytes: Int = 0) {
        self.stream = stream
        self.text = text
        self.truncatedBytes = truncatedBytes
    }
}
