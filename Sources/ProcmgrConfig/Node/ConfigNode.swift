/// A format-neutral tree of the configuration document, produced from YAML or
/// JSON before any validation happens.
///
/// Validation works on this tree by hand rather than through `Codable` so that
/// every problem in a document can be collected in one pass, each with the
/// path of the value at fault. The admin-service merge also works on it, so
/// the merged result is validated as a whole with the paths of the documents
/// that supplied each field.
///
/// Equality compares content only: a node's path, source location, raw text
/// and the order of mapping keys do not matter.
public struct ConfigNode: Sendable, CustomStringConvertible {
    /// The data held by a node.
    public indirect enum Value: Sendable {
        case null
        case bool(Bool)
        case integer(Int)
        case float(Double)
        case string(String)
        case sequence([ConfigNode])
        case mapping([Entry])
    }

    /// One key of a mapping. Readers guarantee keys are unique within a mapping.
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var value: ConfigNode

        public init(key: String, value: ConfigNode) {
            self.key = key
            self.value = value
        }
    }

    public var value: Value
    /// Where this value sits in the document that supplied it.
    public var path: ConfigPath
    /// Line and column in the source text, when the reader knows it.
    public var location: SourceLocation?
    /// The scalar as written in the source (`yes`, `0x1F`, `1.0`), used to
    /// suggest the exact quoted form when a string was expected.
    public var rawText: String?

    public init(_ value: Value, path: ConfigPath = ConfigPath(), location: SourceLocation? = nil, rawText: String? = nil) {
        self.value = value
        self.path = path
        self.location = location
        self.rawText = rawText
    }

    /// The entries of a mapping node, or `nil` for any other kind.
    public var entries: [Entry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    /// The elements of a sequence node, or `nil` for any other kind.
    public var elements: [ConfigNode]? {
        if case .sequence(let elements) = value { return elements }
        return nil
    }

    /// The string of a string node, or `nil` for any other kind.
    public var stringValue: String? {
        if case .string(let string) = value { return string }
        return nil
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    /// The value stored under `key` in a mapping node.
    public subscript(key: String) -> ConfigNode? {
        entries?.first { $0.key == key }?.value
    }

    /// The kind of value with its article, as used in "expected a string, got
    /// a number".
    public var kindDescription: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .float: "a number"
        case .string: "a string"
        case .sequence: "an array"
        case .mapping: "a mapping"
        }
    }

    /// The value as shown inside problem messages: strings quoted, scalars as
    /// written, collections by kind.
    public var description: String {
        switch value {
        case .null: return "null"
        case .bool(let bool): return rawText ?? String(bool)
        case .integer(let int): return rawText ?? String(int)
        case .float(let double): return rawText ?? String(double)
        case .string(let string): return ConfigNode.quoted(string)
        case .sequence, .mapping: return kindDescription
        }
    }

    /// The scalar's source text, for the "quote it" hint given when a string
    /// was expected; `nil` for collections and null.
    var scalarText: String? {
        switch value {
        case .bool(let bool): rawText ?? String(bool)
        case .integer(let int): rawText ?? String(int)
        case .float(let double): rawText ?? String(double)
        case .string(let string): string
        case .null, .sequence, .mapping: nil
        }
    }

    /// `text` in double quotes with JSON-style escapes, so values with
    /// whitespace or control characters stay readable in messages.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
