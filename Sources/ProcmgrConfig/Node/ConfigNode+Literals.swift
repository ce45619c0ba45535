/// Literal syntax for building node trees in code — admin documents in tests,
/// or rendering models back to the schema (`ProcessSpec.configNode`).
/// Nodes built this way sit at the root path; use `rebased(at:)` to give a
/// tree the paths it would have had in a document.
extension ConfigNode: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self.init(.string(value)) }
    public init(integerLiteral value: Int) { self.init(.integer(value)) }
    public init(floatLiteral value: Double) { self.init(.float(value)) }
    public init(booleanLiteral value: Bool) { self.init(.bool(value)) }
    public init(arrayLiteral elements: ConfigNode...) { self.init(.sequence(elements)) }
    public init(nilLiteral: ()) { self.init(.null) }

    /// A mapping node; keys keep the order written. (A dictionary literal
    /// conformance is not possible: `Value` is taken by the node's content type.)
    public static func mapping(_ pairs: KeyValuePairs<String, ConfigNode>) -> ConfigNode {
        ConfigNode(.mapping(pairs.map { Entry(key: $0.key, value: $0.value) }))
    }

    /// This tree with every node's path set as if the tree were found at `path`.
    public func rebased(at path: ConfigPath) -> ConfigNode {
        var copy = self
        copy.path = path
        switch value {
        case .sequence(let elements):
            copy.value = .sequence(elements.enumerated().map { $1.rebased(at: path.appending(index: $0)) })
        case .mapping(let entries):
            copy.value = .mapping(entries.map { Entry(key: $0.key, value: $0.value.rebased(at: path.appending(key: $0.key))) })
        default:
            break
        }
        return copy
    }
}
