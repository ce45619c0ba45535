/// Checks one `processes[]` entry and builds its `ProcessSpec` with defaults
/// applied.
///
/// Two modes: `.complete` for a process that must stand on its own (the
/// local file without an admin source, or an admin entry after merging), and
/// `.override` for a local entry that will be merged over an admin entry —
/// there only `id` is required, every field present must still be valid, and
/// `null` is allowed anywhere to remove an inherited value.
struct ProcessValidator {
    enum Mode {
        case complete
        case override
    }

    static let keys = [
        "id", "command", "env", "working_dir", "port", "hostnames", "restart", "backoff",
        "grace_period", "stop_signal", "health", "heartbeat", "log_file",
    ]

    let mode: Mode
    let baseDirectory: String?

    /// Whether required fields and cross-field checks are enforced.
    var complete: Bool { mode == .complete }

    /// The spec when the entry is complete and has no problems; `nil` otherwise
    /// (and always in `.override` mode).
    func validate(_ node: ConfigNode, problems: inout Problems) -> ProcessSpec? {
        let before = problems.count
        guard let fields = Fields(node, allowed: Self.keys, problems: &problems) else { return nil }

        let id = fields.required("id", enforce: true, problems: &problems).flatMap { Self.id($0, problems: &problems) }
        let command = fields.required("command", enforce: complete, problems: &problems)
            .flatMap { Self.command($0, problems: &problems) }
        let env = fields["env"].flatMap { readEnv($0, problems: &problems) } ?? [:]
        let workingDir = fields["working_dir"].flatMap { problems.pathString($0) } ?? ConfigDefaults.workingDir
        // `nil` only when a port was given and is invalid.
        var port: PortSpec? = ConfigDefaults.port
        if let node = fields["port"] { port = Self.port(node, problems: &problems) }
        let hostnames = fields["hostnames"].flatMap { Self.hostnames($0, problems: &problems) } ?? []
        let restart = fields["restart"].flatMap { problems.choice($0, RestartPolicy.allCases.map { ($0.rawValue, $0) }) }
            ?? ConfigDefaults.restart
        let backoff = fields["backoff"].flatMap { readBackoff($0, problems: &problems) } ?? .default
        let gracePeriod = fields["grace_period"].flatMap { problems.duration($0) } ?? ConfigDefaults.gracePeriod
        let stopSignal = fields["stop_signal"].flatMap { Self.stopSignal($0, problems: &problems) } ?? ConfigDefaults.stopSignal
        let health = fields["health"].flatMap { readHealth($0, problems: &problems) }
        let heartbeat = fields["heartbeat"].flatMap { readHeartbeat($0, problems: &problems) }
        let logFile = fields["log_file"].flatMap { readLogFile($0, problems: &problems) }

        if complete, let port, !port.hasPort {
            if let commandNode = fields["command"], let elements = commandNode.elements {
                for element in elements where Self.usesPort(element) {
                    problems.add(element, "uses ${PORT} but the process has no port (set port: auto or a number)")
                }
            }
            if let healthNode = fields["health"], let http = healthNode["http"], health != nil {
                problems.add(http.path, "needs a port to probe (set port: auto or a number)", location: http.location)
            }
        }

        guard complete, problems.count == before, let id, let command, let port else { return nil }
        return ProcessSpec(
            id: id,
            command: command,
            env: env,
            workingDir: PathResolver.resolve(workingDir, against: baseDirectory),
            port: port,
            hostnames: hostnames,
            restart: restart,
            backoff: backoff,
            gracePeriod: gracePeriod,
            stopSignal: stopSignal,
            health: health,
            heartbeat: heartbeat,
            logFile: logFile
        )
    }
}
