/// Bounds on what a reader will build, so a hostile admin response or a YAML
/// alias bomb fails with a problem instead of exhausting memory or the stack.
enum ReadLimits {
    /// Deepest nesting accepted; real documents nest four or five levels.
    static let maxDepth = 64
    /// Most values accepted after alias expansion.
    static let maxNodes = 200_000
}
