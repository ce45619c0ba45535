/// Content-only equality for configuration trees.
///
/// Two nodes are equal when they hold the same data: where they came from
/// (path, line, raw spelling) is ignored and mappings compare as dictionaries,
/// so re-ordering keys or moving a block in the file does not read as a change.
extension ConfigNode: Hashable {
    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool {
        lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(value)
    }
}

extension ConfigNode.Value: Hashable {
    public static func == (lhs: ConfigNode.Value, rhs: ConfigNode.Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.sequence(let a), .sequence(let b)): return a == b
        case (.mapping(let a), .mapping(let b)):
            guard a.count == b.count else { return false }
            let right = Dictionary(b.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            return a.allSatisfy { right[$0.key] == $0.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(1); hasher.combine(value)
        case .integer(let value): hasher.combine(2); hasher.combine(value)
        case .float(let value): hasher.combine(3); hasher.combine(value)
        case .string(let value): hasher.combine(4); hasher.combine(value)
        case .sequence(let elements): hasher.combine(5); hasher.combine(elements)
        case .mapping(let entries):
            // Order-independent: sum the per-entry hashes.
            hasher.combine(6)
            hasher.combine(entries.count)
            hasher.combine(entries.reduce(0) { $0 &+ $1.hashValue })
        }
    }
}
