/// Typed reads of single values. Each returns `nil` after recording a problem
/// that says what the value is and what was expected, so callers can simply
/// skip building a field they could not read.
extension Problems {
    static let durationExamples = "(e.g. 500ms, 10s, 2m)"

    /// A string. Other scalars are refused with the quoted spelling to use,
    /// because YAML silently types `true`, `8080` or `1.0`.
    mutating func string(_ node: ConfigNode) -> String? {
        if let string = node.stringValue { return string }
        if let text = node.scalarText {
            add(node, "expected a string, got \(node.kindDescription) (quote it: \(ConfigNode.quoted(text)))")
        } else if node.isNull {
            add(node, "expected a string, got null (write \"\" for an empty string)")
        } else {
            add(node, "expected a string, got \(node.kindDescription)")
        }
        return nil
    }

    /// A non-empty string without NUL, for file-system paths.
    mutating func pathString(_ node: ConfigNode) -> String? {
        guard let path = string(node) else { return nil }
        if path.isEmpty {
            add(node, "must not be empty")
            return nil
        }
        if path.contains("\0") {
            add(node, "\(node) contains a NUL character")
            return nil
        }
        return path
    }

    /// A duration, `> 0` unless `allowZero`.
    mutating func duration(_ node: ConfigNode, allowZero: Bool = false) -> Duration? {
        let text: String
        switch node.value {
        case .string(let string): text = string
        case .integer, .float:
            add(node, "\(node) is not a duration \(Self.durationExamples)")
            return nil
        default:
            add(node, "expected a duration \(Self.durationExamples), got \(node.kindDescription)")
            return nil
        }
        guard let duration = DurationText.parse(text) else {
            add(node, "\(node) is not a duration \(Self.durationExamples)")
            return nil
        }
        if !allowZero && duration == .zero {
            add(node, "\(node) must be greater than zero")
            return nil
        }
        return duration
    }

    /// An integer in `range`.
    mutating func integer(_ node: ConfigNode, in range: ClosedRange<Int>) -> Int? {
        guard case .integer(let value) = node.value else {
            if case .float = node.value {
                add(node, "expected an integer, got \(node)")
            } else {
                add(node, "expected an integer, got \(node.kindDescription)")
            }
            return nil
        }
        guard range.contains(value) else {
            add(node, Self.outOfRange(node, range.lowerBound, range.upperBound == .max ? nil : range.upperBound))
            return nil
        }
        return value
    }

    /// `true` or `false`.
    mutating func bool(_ node: ConfigNode) -> Bool? {
        if case .bool(let value) = node.value { return value }
        add(node, "expected true or false, got \(node.kindDescription)")
        return nil
    }

    /// A number (integer or decimal) in `range`.
    mutating func number(_ node: ConfigNode, in range: ClosedRange<Double>) -> Double? {
        let value: Double
        switch node.value {
        case .integer(let int): value = Double(int)
        case .float(let double): value = double
        default:
            add(node, "expected a number, got \(node.kindDescription)")
            return nil
        }
        guard value.isFinite, range.contains(value) else {
            add(node, Self.outOfRange(node, Self.trimmed(range.lowerBound),
                                      range.upperBound.isInfinite ? nil : Self.trimmed(range.upperBound)))
            return nil
        }
        return value
    }

    /// One of a fixed set of words, matched exactly.
    mutating func choice<T>(_ node: ConfigNode, _ options: [(name: String, value: T)]) -> T? {
        let names = options.map(\.name).joined(separator: ", ")
        guard let text = node.stringValue else {
            if node.scalarText != nil {
                add(node, "\(node) is not one of \(names)")
            } else {
                add(node, "expected one of \(names), got \(node.kindDescription)")
            }
            return nil
        }
        guard let match = options.first(where: { $0.name == text }) else {
            add(node, "\(node) is not one of \(names)")
            return nil
        }
        return match.value
    }

    /// A byte size (`10MiB`, or an integer number of bytes), `> 0` unless `allowZero`.
    mutating func byteSize(_ node: ConfigNode, allowZero: Bool = false) -> Int? {
        let bytes: Int?
        switch node.value {
        case .integer(let int): bytes = int >= 0 ? int : nil
        case .string(let text): bytes = ByteSize.parse(text)
        case .float:
            bytes = nil
        default:
            add(node, "expected a size (e.g. 10MiB), got \(node.kindDescription)")
            return nil
        }
        guard let bytes else {
            add(node, "\(node) is not a size (e.g. 10MiB; units \(ByteSize.unitNames))")
            return nil
        }
        if bytes == 0 && !allowZero {
            add(node, "\(node) must be greater than zero")
            return nil
        }
        return bytes
    }

    private static func outOfRange<N>(_ node: ConfigNode, _ lower: N, _ upper: N?) -> String {
        if let upper { return "\(node) is not between \(lower) and \(upper)" }
        return "\(node) must be at least \(lower)"
    }

    /// `1` rather than `1.0` in messages.
    private static func trimmed(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
