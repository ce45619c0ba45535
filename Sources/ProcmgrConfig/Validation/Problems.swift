/// Accumulates problems during a validation pass. Validators never stop at
/// the first problem: each field is checked independently and everything
/// found is reported together.
struct Problems {
    private(set) var list: [ConfigProblem] = []

    var count: Int { list.count }
    var isEmpty: Bool { list.isEmpty }

    mutating func add(_ path: ConfigPath, _ message: String, location: SourceLocation? = nil) {
        list.append(ConfigProblem(path: path, message: message, location: location))
    }

    /// A problem about `node`, at its path and source location.
    mutating func add(_ node: ConfigNode, _ message: String) {
        add(node.path, message, location: node.location)
    }

    mutating func append(contentsOf other: [ConfigProblem]) {
        list.append(contentsOf: other)
    }
}
