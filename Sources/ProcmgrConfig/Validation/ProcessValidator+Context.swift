/// The execution-context fields of a process entry: `user`, `group`, `env_file`, `limits` and
/// `hooks`. Only their shape is checked here; whether the user exists, whether the agent may
/// switch to it (`IdentityChecks`) and what the env files hold (`EnvFileLoading`) are questions
/// for the machine, asked with `ValidationScope.schemaAndFilesystem`.
extension ProcessValidator {
    static let limitsKeys = ["memory", "cpu", "pids", "nofile", "nproc", "core", "memlock", "stack"]
    static let hooksKeys = ["pre_start", "post_stop", "timeout"]

    /// A user or group name or number: YAML's `user: 1000` is an integer, taken as its digits.
    static func accountName(_ node: ConfigNode, problems: inout Problems) -> String? {
        if case .integer(let number) = node.value {
            guard number >= 0, number < Int(UInt32.max) else {
                problems.add(node, "\(node) is not a valid id (0-\(UInt32.max - 1))")
                return nil
            }
            return String(number)
        }
        guard let name = problems.string(node) else { return nil }
        if name.isEmpty || name.contains("\0") || name.contains(":") || name.contains("/") {
            problems.add(node, "\(node) is not a user or group name or number")
            return nil
        }
        return name
    }

    /// `env_file:` — one path or a list of them, resolved against the config file's directory.
    func readEnvFiles(_ node: ConfigNode, problems: inout Problems) -> [String]? {
        let elements: [ConfigNode]
        if node.stringValue != nil {
            elements = [node]
        } else if let list = node.elements {
            elements = list
        } else {
            problems.add(node, "expected a path or an array of paths, got \(node.kindDescription)")
            return nil
        }
        var paths: [String] = []
        var valid = true
        for element in elements {
            guard let path = problems.pathString(element) else {
                valid = false
                continue
            }
            paths.append(PathResolver.resolve(path, against: baseDirectory))
        }
        return valid ? paths : nil
    }

    func readLimits(_ node: ConfigNode, problems: inout Problems) -> LimitsSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: Self.limitsKeys, problems: &problems) else { return nil }
        var spec = LimitsSpec()
        if let memoryNode = fields["memory"], let bytes = problems.byteSize(memoryNode) {
            if UInt64(bytes) < LimitsSpec.minimumMemoryBytes {
                problems.add(memoryNode, "\(memoryNode) is less than the minimum of 1MiB (write a unit: 512MiB)")
            } else {
                spec.memoryBytes = UInt64(bytes)
            }
        }
        if let cpuNode = fields["cpu"], let cores = problems.number(cpuNode, in: 0...LimitsSpec.maxCPUCores) {
            if cores == 0 {
                problems.add(cpuNode, "\(cpuNode) must be greater than zero (cores, e.g. 0.5 or 2)")
            } else {
                spec.cpuCores = cores
            }
        }
        spec.pids = fields["pids"].flatMap { problems.integer($0, in: 1...LimitsSpec.maxPids) }
        spec.nofile = fields["nofile"].flatMap { problems.integer($0, in: 1...Int(LimitsSpec.maxNofile)) }.map(UInt64.init)
        spec.nproc = fields["nproc"].flatMap { Self.rlimit($0, bytes: false, allowZero: false, problems: &problems) }
        spec.core = fields["core"].flatMap { Self.rlimit($0, bytes: true, allowZero: true, problems: &problems) }
        spec.memlock = fields["memlock"].flatMap { Self.rlimit($0, bytes: true, allowZero: true, problems: &problems) }
        spec.stack = fields["stack"].flatMap { Self.rlimit($0, bytes: true, allowZero: false, problems: &problems) }
        return problems.count == before ? spec : nil
    }

    /// An rlimit value: `unlimited`, or a count (`bytes: false`) or byte size.
    static func rlimit(_ node: ConfigNode, bytes: Bool, allowZero: Bool, problems: inout Problems) -> UInt64? {
        if node.stringValue == "unlimited" { return LimitsSpec.unlimited }
        if bytes { return problems.byteSize(node, allowZero: allowZero).map(UInt64.init) }
        return problems.integer(node, in: (allowZero ? 0 : 1)...Int.max).map(UInt64.init)
    }

    func readHooks(_ node: ConfigNode, problems: inout Problems) -> HooksSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: Self.hooksKeys, problems: &problems) else { return nil }
        var spec = HooksSpec()
        spec.preStart = fields["pre_start"].flatMap { Self.command($0, templates: false, problems: &problems) }
        spec.postStop = fields["post_stop"].flatMap { Self.command($0, templates: false, problems: &problems) }
        if let timeout = fields["timeout"].flatMap({ problems.duration($0) }) { spec.timeout = timeout }
        guard problems.count == before else { return nil }
        if complete, spec.preStart == nil, spec.postStop == nil {
            problems.add(node, "names no hook (set pre_start, post_stop or both)")
            return nil
        }
        return spec
    }
}
