/// Bounds on what a reader will accept, so a hostile admin response, a YAML
/// alias bomb or a deeply nested document fails with a problem instead of
/// exhausting memory or the stack.
///
/// They are enforced *while* reading: the JSON reader checks depth before it
/// recurses, and YAML documents go through `YAMLLimitScan` (a pass over
/// libyaml's event stream, which keeps no recursion) before Yams' recursive
/// composer ever sees them. Thousands of `[` in a 10 KB file used to overflow
/// the composer's stack and kill the agent.
enum ReadLimits {
    /// Deepest nesting accepted; real documents nest four or five levels.
    static let maxDepth = 64
    /// Most nodes accepted after alias expansion.
    static let maxNodes = 200_000
    /// Largest config file or admin body read, in bytes. A real config is a
    /// few KiB; a 200 MB file used to cost the agent a gigabyte of memory.
    static let maxDocumentBytes = 4 << 20

    /// `4 MiB` for messages.
    static func describe(bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
