/// A 1-based line and column in the source text, kept on nodes and syntax
/// problems so tools can point at the offending spot even though problem
/// messages themselves speak in document paths.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}
