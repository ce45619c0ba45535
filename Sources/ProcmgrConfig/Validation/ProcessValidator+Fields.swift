/// The single-value fields of a process entry: id, command (with its
/// `${...}` references), env, port, hostnames and stop signal. Each reader
/// records its problems and returns `nil` when the value is unusable.
extension ProcessValidator {
    static func id(_ node: ConfigNode, problems: inout Problems) -> String? {
        guard let id = problems.string(node) else { return nil }
        guard isValidID(id) else {
            problems.add(node, "\(node) is not a valid id ([A-Za-z0-9._-]{1,63})")
            return nil
        }
        guard id != ".", id != ".." else {
            problems.add(node, "\(node) is not a valid id (. and .. are reserved)")
            return nil
        }
        return id
    }

    static func isValidID(_ id: String) -> Bool {
        (1...63).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    /// A non-empty argv without NUL bytes; with `templates`, its `${...}`
    /// references are checked too (probe commands are run as written).
    static func command(_ node: ConfigNode, templates: Bool = true, problems: inout Problems) -> [String]? {
        guard let elements = node.elements, !elements.isEmpty else {
            problems.add(node, "must be a non-empty array of strings")
            return nil
        }
        var arguments: [String] = []
        var valid = true
        for element in elements {
            guard let argument = problems.string(element) else {
                valid = false
                continue
            }
            if arguments.isEmpty && argument.isEmpty {
                problems.add(element, "must not be empty (it is the program to run)")
                valid = false
            }
            if argument.contains("\0") {
                // exec takes C strings: the start would fail every time.
                problems.add(element, "contains a NUL byte")
                valid = false
            }
            if templates && !checkTemplate(argument, node: element, problems: &problems) { valid = false }
            arguments.append(argument)
        }
        return valid ? arguments : nil
    }

    /// Rejects unterminated `${`, `${}` and names other than the known variables.
    static func checkTemplate(_ argument: String, node: ConfigNode, problems: inout Problems) -> Bool {
        switch ArgumentTemplate.parse(argument) {
        case .failure(.unterminated):
            problems.add(node, "\(node) has an unterminated ${ (write $${ for a literal ${)")
            return false
        case .failure(.emptyName):
            problems.add(node, "\(node) has an empty ${} (write $${ for a literal ${)")
            return false
        case .success(let pieces):
            var valid = true
            for case .variable(let name) in pieces where !ArgumentTemplate.knownVariables.contains(name) {
                problems.add(node, "unknown variable ${\(name)} (only ${PORT} and ${REPLICA} are defined; write $${ for a literal ${)")
                valid = false
            }
            return valid
        }
    }

    /// Whether the argument references `${name}`.
    static func uses(_ name: String, _ node: ConfigNode) -> Bool {
        guard let text = node.stringValue, case .success(let pieces) = ArgumentTemplate.parse(text) else { return false }
        return pieces.contains(.variable(name))
    }

    func readEnv(_ node: ConfigNode, problems: inout Problems) -> [String: String]? {
        guard let entries = node.entries else {
            problems.add(node, "expected a mapping of names to strings, got \(node.kindDescription)")
            return nil
        }
        var env: [String: String] = [:]
        var valid = true
        for entry in entries {
            if entry.key.isEmpty || entry.key.contains("=") || entry.key.contains("\0") {
                problems.add(entry.value, "\(ConfigNode.quoted(entry.key)) is not a valid environment variable name")
                valid = false
            }
            if !complete && entry.value.isNull { continue }  // removes an inherited variable
            guard let value = problems.string(entry.value) else {
                valid = false
                continue
            }
            if value.contains("\0") {
                // The environment is a list of C strings: every start would fail.
                problems.add(entry.value, "value contains a NUL byte")
                valid = false
            }
            env[entry.key] = value
        }
        return valid ? env : nil
    }

    /// `nil` after recording a problem; a `PortSpec` otherwise.
    static func port(_ node: ConfigNode, problems: inout Problems) -> PortSpec? {
        let expected = "auto, none or a port number (1-65535)"
        switch node.value {
        case .string("auto"): return .auto
        case .string("none"): return PortSpec.none
        case .integer(let number) where (1...65535).contains(number): return .fixed(UInt16(number))
        case .sequence, .mapping:
            problems.add(node, "expected \(expected), got \(node.kindDescription)")
        default:
            problems.add(node, "\(node) is not \(expected)")
        }
        return nil
    }

    static func hostnames(_ node: ConfigNode, problems: inout Problems) -> [String]? {
        guard let elements = node.elements else {
            problems.add(node, "expected an array of hostnames, got \(node.kindDescription)")
            return nil
        }
        var hostnames: [String] = []
        var firstPaths: [String: ConfigPath] = [:]
        var valid = true
        for element in elements {
            guard let raw = problems.string(element) else {
                valid = false
                continue
            }
            guard let hostname = normalizedHostname(raw) else {
                problems.add(element, "\(element) is not a valid hostname")
                valid = false
                continue
            }
            if let first = firstPaths[hostname] {
                problems.add(element, "\(element) is a duplicate of \(first)")
                valid = false
                continue
            }
            firstPaths[hostname] = element.path
            hostnames.append(hostname)
        }
        return valid ? hostnames : nil
    }

    /// Lower-cased DNS name, optionally with a leading `*.` wildcard label.
    static func normalizedHostname(_ raw: String) -> String? {
        let lower = raw.lowercased()
        let name = lower.hasPrefix("*.") ? lower.dropFirst(2) : Substring(lower)
        return ListenAddress.isHostname(name) ? lower : nil
    }

    static func stopSignal(_ node: ConfigNode, problems: inout Problems) -> StopSignal? {
        let names = StopSignal.allCases.map(\.rawValue).joined(separator: ", ")
        guard let text = node.stringValue else {
            if node.scalarText != nil {
                problems.add(node, "\(node) is not a signal (\(names))")
            } else {
                problems.add(node, "expected a signal name (\(names)), got \(node.kindDescription)")
            }
            return nil
        }
        guard let signal = StopSignal(name: text) else {
            problems.add(node, "\(node) is not a signal (\(names))")
            return nil
        }
        return signal
    }
}
