internal import Yams

/// Turns YAML text into a `ConfigNode` tree using Yams' composer, keeping
/// YAML's own typing of plain scalars (so `DEBUG: true` is a boolean and can
/// be reported as such) and the line/column of every value.
///
/// Duplicate keys, which libyaml silently accepts, are collected and reported
/// together as syntax problems.
///
/// `YAMLLimitScan` runs first: the composer recurses per nesting level and
/// expands aliases, so it must never see a document over `ReadLimits`.
struct YAMLNodeReader {
    let document: String?
    private var problems: [ConfigProblem] = []
    private var nodeCount = 0

    init(document: String?) {
        self.document = document
    }

    /// The document's root node, or `nil` for an empty document.
    static func read(_ text: String, document: String?) throws(ConfigError) -> ConfigNode? {
        do throws(YAMLLimitScan.Violation) {
            try YAMLLimitScan.check(text)
        } catch {
            let path = ConfigPath(document: document, components: error.path)
            throw ConfigError(code: .limit, problems: [
                ConfigProblem(path: path, message: "\(error.message) (at \(error.location))", location: error.location),
            ])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(code: .syntax, problems: [Self.problem(from: error, document: document)])
        } catch {
            throw ConfigError(code: .syntax, problems: [
                ConfigProblem(path: ConfigPath(document: document), message: "YAML syntax error: \(error)"),
            ])
        }
        guard let root else { return nil }
        var reader = YAMLNodeReader(document: document)
        let node = reader.convert(root, path: ConfigPath(document: document), depth: 0)
        if !reader.problems.isEmpty {
            throw ConfigError(code: .syntax, problems: reader.problems)
        }
        return node
    }

    private mutating func convert(_ node: Node, path: ConfigPath, depth: Int) -> ConfigNode {
        let location = node.mark.map { SourceLocation(line: $0.line, column: $0.column) }
        nodeCount += 1
        guard depth < ReadLimits.maxDepth, nodeCount <= ReadLimits.maxNodes else {
            if problems.isEmpty {
                problems.append(ConfigProblem(
                    path: path,
                    message: depth >= ReadLimits.maxDepth
                        ? "nested deeper than \(ReadLimits.maxDepth) levels"
                        : "document has more than \(ReadLimits.maxNodes) values (after expanding aliases)",
                    location: location))
            }
            return ConfigNode(.null, path: path, location: location)
        }
        switch node {
        case .scalar(let scalar):
            return ConfigNode(Self.value(of: scalar, tag: node.tag.description), path: path,
                              location: location, rawText: scalar.string)
        case .sequence(let sequence):
            var elements: [ConfigNode] = []
            for (index, element) in sequence.enumerated() {
                elements.append(convert(element, path: path.appending(index: index), depth: depth + 1))
            }
            return ConfigNode(.sequence(elements), path: path, location: location)
        case .mapping(let mapping):
            var entries: [ConfigNode.Entry] = []
            var seen: [String: SourceLocation?] = [:]
            for (keyNode, valueNode) in mapping {
                let keyLocation = keyNode.mark.map { SourceLocation(line: $0.line, column: $0.column) }
                guard case .scalar(let keyScalar) = keyNode else {
                    problems.append(ConfigProblem(path: path, message: "mapping keys must be strings, got a complex key",
                                                  location: keyLocation))
                    continue
                }
                let key = keyScalar.string
                if let first = seen[key] {
                    problems.append(ConfigProblem(path: path.appending(key: key),
                                                  message: "duplicate key" + (first.map { " (first at \($0))" } ?? ""),
                                                  location: keyLocation))
                    continue
                }
                seen[key] = keyLocation
                entries.append(.init(key: key, value: convert(valueNode, path: path.appending(key: key), depth: depth + 1)))
            }
            return ConfigNode(.mapping(entries), path: path, location: location)
        }
    }

    /// YAML 1.1 typing of a scalar as resolved by Yams: `yes`/`true` are
    /// booleans, `8080` and `0x1F` integers, `~` null, quoted text a string.
    private static func value(of scalar: Node.Scalar, tag: String) -> ConfigNode.Value {
        switch tag {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            return Bool.construct(from: scalar).map(ConfigNode.Value.bool) ?? .string(scalar.string)
        case Tag.Name.int.rawValue:
            // Yams' own sexagesimal (`1:30`) arithmetic traps on overflow: a
            // plain `1:0:0:0:0:0:0:0:0:0:0:0` would kill the agent.
            if scalar.string.contains(":") {
                return sexagesimal(scalar.string).map(ConfigNode.Value.integer)
                    ?? Double.construct(from: scalar).map(ConfigNode.Value.float) ?? .string(scalar.string)
            }
            if let int = Int.construct(from: scalar) { return .integer(int) }
            return Double.construct(from: scalar).map(ConfigNode.Value.float) ?? .string(scalar.string)
        case Tag.Name.float.rawValue:
            return Double.construct(from: scalar).map(ConfigNode.Value.float) ?? .string(scalar.string)
        default:
            return .string(scalar.string)
        }
    }

    /// YAML 1.1 base 60 (`-1:30` is -90), `nil` when it does not fit an `Int`.
    static func sexagesimal(_ text: String) -> Int? {
        var digits = Substring(text.replacingOccurrences(of: "_", with: ""))
        var sign = 1
        if digits.hasPrefix("-") || digits.hasPrefix("+") {
            if digits.hasPrefix("-") { sign = -1 }
            digits = digits.dropFirst()
        }
        var value = 0
        for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
            guard let digit = Int(part, radix: 10), digit >= 0 else { return nil }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 60)
            let (sum, overflowB) = shifted.addingReportingOverflow(digit)
            if overflowA || overflowB { return nil }
            value = sum
        }
        return sign * value
    }

    private static func problem(from error: YamlError, document: String?) -> ConfigProblem {
        let root = ConfigPath(document: document)
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let location = SourceLocation(line: mark.line, column: mark.column)
            var message = "YAML syntax error at \(location): \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return ConfigProblem(path: root, message: message, location: location)
        case .reader(let problem, let offset, _, _):
            return ConfigProblem(path: root, message: "YAML read error\(offset.map { " at byte \($0)" } ?? ""): \(problem)")
        default:
            return ConfigProblem(path: root, message: "YAML syntax error: \(error)")
        }
    }
}
