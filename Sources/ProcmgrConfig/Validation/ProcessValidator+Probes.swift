/// The `liveness`, `readiness` and `startup` blocks (and `health`, the
/// former name of `liveness`, kept as its alias).
///
/// Each block takes exactly one action — `http: {path, port?, headers?}`,
/// `tcp: {port?}` or `exec: {command}` — and kubelet's timing fields. The
/// legacy spelling `health: {http: {path, interval, …}}`, with the timing
/// inside `http`, is still read so existing configs keep working.
extension ProcessValidator {
    static let probeActions = ["http", "tcp", "exec"]
    static let probeTimingKeys = ["interval", "timeout", "failure_threshold", "success_threshold", "initial_delay"]

    /// The liveness node: `liveness:` or its alias `health:`, never both.
    func livenessNode(_ fields: Fields, problems: inout Problems) -> ConfigNode? {
        if let liveness = fields["liveness"], let health = fields["health"] {
            problems.add(liveness, "is also given as its alias health (\(health.path)); keep one of them")
            return nil
        }
        return fields["liveness"] ?? fields["health"]
    }

    func readProbe(_ node: ConfigNode, kind: ProbeKind, problems: inout Problems) -> ProbeSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: Self.probeActions + Self.probeTimingKeys, problems: &problems) else { return nil }
        let given = Self.probeActions.filter { fields[$0] != nil }
        if given.count > 1 {
            problems.add(node, "takes exactly one of http, tcp, exec; got \(given.joined(separator: " and "))")
            return nil
        }
        guard let name = given.first, let actionNode = fields[name] else {
            if complete { problems.add(node, "needs one of http, tcp, exec") }
            return nil
        }
        // The legacy `health.http` block carries the timing fields itself.
        let legacy = kind == .liveness && name == "http" && node.path.components.last == .key("health")
        var timing = [fields]
        let action: ProbeSpec.Action?
        switch name {
        case "http":
            let allowed = ["path", "port", "headers"] + (legacy ? Self.probeTimingKeys : [])
            guard let http = Fields(actionNode, allowed: allowed, problems: &problems) else { return nil }
            timing.append(http)
            action = readHTTPAction(http, problems: &problems)
        case "tcp":
            guard let tcp = Fields(actionNode, allowed: ["port"], problems: &problems) else { return nil }
            action = tcp["port"].map { Self.probePort($0, problems: &problems).map { .tcp(port: $0) } } ?? .tcp(port: .processPort)
        default:
            guard let exec = Fields(actionNode, allowed: ["command"], problems: &problems) else { return nil }
            action = exec.required("command", enforce: complete, problems: &problems)
                .flatMap { Self.command($0, templates: false, problems: &problems) }.map { .exec(command: $0) }
        }
        var spec = ProbeSpec(kind, action: action ?? .tcp(port: .processPort))
        readProbeTiming(timing, into: &spec, kind: kind, problems: &problems)
        return problems.count == before && action != nil ? spec : nil
    }

    private func readHTTPAction(_ http: Fields, problems: inout Problems) -> ProbeSpec.Action? {
        let before = problems.count
        let path = http.required("path", enforce: complete, problems: &problems).flatMap { node -> String? in
            guard let path = problems.string(node) else { return nil }
            guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace }) else {
                problems.add(node, "\(node) is not a URL path (must start with /, no spaces)")
                return nil
            }
            return path
        }
        let port = http["port"].map { Self.probePort($0, problems: &problems) } ?? .processPort
        let headers = http["headers"].flatMap { Self.headers($0, problems: &problems) } ?? [:]
        guard problems.count == before, let port else { return nil }
        return .http(path: path ?? "/", port: port, headers: headers)
    }

    /// Timing keys from the probe block and (legacy `health.http`) its action
    /// block; the same key in both is refused.
    private func readProbeTiming(_ blocks: [Fields], into spec: inout ProbeSpec, kind: ProbeKind, problems: inout Problems) {
        for key in Self.probeTimingKeys {
            let nodes = blocks.compactMap { $0[key] }
            if nodes.count > 1 {
                problems.add(nodes[1], "is also given at \(nodes[0].path); keep one of them")
                continue
            }
            guard let node = nodes.first else { continue }
            switch key {
            case "interval": if let value = problems.duration(node) { spec.interval = value }
            case "timeout": if let value = problems.duration(node) { spec.timeout = value }
            case "failure_threshold": if let value = problems.integer(node, in: 1...Int.max) { spec.failureThreshold = value }
            case "success_threshold":
                guard let value = problems.integer(node, in: 1...Int.max) else { continue }
                if kind.requiresSingleSuccess && value != 1 {
                    problems.add(node, "must be 1 for a \(kind.rawValue) probe (as in Kubernetes; only readiness may require more)")
                }
                spec.successThreshold = value
            default: if let value = problems.duration(node, allowZero: true) { spec.initialDelay = value }
            }
        }
    }

    /// `auto` (the process's own port) or a number.
    static func probePort(_ node: ConfigNode, problems: inout Problems) -> ProbeSpec.Port? {
        switch node.value {
        case .string("auto"): return .processPort
        case .integer(let number) where (1...65535).contains(number): return .fixed(UInt16(number))
        default:
            problems.add(node, "\(node) is not auto or a port number (1-65535)")
            return nil
        }
    }

    static func headers(_ node: ConfigNode, problems: inout Problems) -> [String: String]? {
        guard let entries = node.entries else {
            problems.add(node, "expected a mapping of header names to values, got \(node.kindDescription)")
            return nil
        }
        var headers: [String: String] = [:]
        var valid = true
        for entry in entries {
            let tokenCharacters = entry.key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0)) }
            if entry.key.isEmpty || !tokenCharacters {
                problems.add(entry.value, "\(ConfigNode.quoted(entry.key)) is not an HTTP header name")
                valid = false
            }
            guard let value = problems.string(entry.value) else {
                valid = false
                continue
            }
            if value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                problems.add(entry.value, "value contains a line break or NUL")
                valid = false
            }
            headers[entry.key] = value
        }
        return valid ? headers : nil
    }
}
