/// Lets a node tree travel through any `Encoder`/`Decoder` (JSON for the
/// HTTP API, YAML via Yams' coders), which is how the models' `Codable`
/// conformances reuse the hand-written validator instead of a second,
/// first-error-only decoding path.
extension ConfigNode: Codable {
    private struct StringKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: StringKey.self) {
            var entries: [Entry] = []
            for key in keyed.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                entries.append(Entry(key: key.stringValue, value: try keyed.decode(ConfigNode.self, forKey: key)))
            }
            self.init(.mapping(entries))
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var elements: [ConfigNode] = []
            while !unkeyed.isAtEnd { elements.append(try unkeyed.decode(ConfigNode.self)) }
            self.init(.sequence(elements))
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self.init(.null)
        } else if let bool = try? single.decode(Bool.self) {
            self.init(.bool(bool))
        } else if let int = try? single.decode(Int.self) {
            self.init(.integer(int))
        } else if let double = try? single.decode(Double.self) {
            self.init(.float(double))
        } else {
            self.init(.string(try single.decode(String.self)))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch value {
        case .mapping(let entries):
            var keyed = encoder.container(keyedBy: StringKey.self)
            for entry in entries { try keyed.encode(entry.value, forKey: StringKey(stringValue: entry.key)) }
        case .sequence(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let bool):
            var single = encoder.singleValueContainer()
            try single.encode(bool)
        case .integer(let int):
            var single = encoder.singleValueContainer()
            try single.encode(int)
        case .float(let double):
            var single = encoder.singleValueContainer()
            try single.encode(double)
        case .string(let string):
            var single = encoder.singleValueContainer()
            try single.encode(string)
        }
    }
}
