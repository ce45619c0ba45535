/// A mapping node viewed as a record with a fixed set of keys: rejects
/// unknown keys (suggesting the closest known one) and hands out the values of
/// known ones. Explicit `null` counts as "not set", which is also how an
/// override removes an inherited field.
struct Fields {
    let node: ConfigNode
    private let values: [String: ConfigNode]

    /// `nil` (with a problem recorded) when `node` is not a mapping.
    init?(_ node: ConfigNode, allowed: [String], problems: inout Problems) {
        guard let entries = node.entries else {
            problems.add(node, "expected a mapping, got \(node.kindDescription)")
            return nil
        }
        self.node = node
        var values: [String: ConfigNode] = [:]
        for entry in entries {
            if allowed.contains(entry.key) {
                values[entry.key] = entry.value
            } else {
                var message = "unknown key (expected one of: \(allowed.joined(separator: ", ")))"
                if let suggestion = Self.closest(to: entry.key, in: allowed) {
                    message += "; did you mean \(suggestion)?"
                }
                problems.add(entry.value.path, message, location: entry.value.location)
            }
        }
        self.values = values
    }

    /// The value of `key` unless absent or null.
    subscript(key: String) -> ConfigNode? {
        guard let value = values[key], !value.isNull else { return nil }
        return value
    }

    /// The value of `key`; when it is missing and `enforce` is set, records
    /// `key: is required`.
    func required(_ key: String, enforce: Bool, problems: inout Problems) -> ConfigNode? {
        if let value = self[key] { return value }
        if enforce { problems.add(path(of: key), "is required") }
        return nil
    }

    /// Where `key` is (or would be) in the document.
    func path(of key: String) -> ConfigPath {
        values[key]?.path ?? node.path.appending(key: key)
    }

    /// The allowed key the author probably meant: the unique nearest one
    /// within edit distance 2 (`restrat`), else the unique one that is a
    /// prefix of the key or has it as a prefix (`listen_on`, `state`).
    private static func closest(to key: String, in allowed: [String]) -> String? {
        let lower = key.lowercased()
        let scored = allowed.map { ($0, editDistance(lower, $0)) }.filter { $0.1 <= 2 }
        if let best = scored.min(by: { $0.1 < $1.1 }) {
            return scored.filter { $0.1 == best.1 }.count == 1 ? best.0 : nil
        }
        guard lower.count >= 4 else { return nil }
        let prefixed = allowed.filter { $0.count >= 4 && (lower.hasPrefix($0) || $0.hasPrefix(lower)) }
        return prefixed.count == 1 ? prefixed[0] : nil
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
