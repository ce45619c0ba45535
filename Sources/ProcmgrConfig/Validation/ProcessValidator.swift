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
        "grace_period", "stop_signal", "health", "liveness", "readiness", "startup", "heartbeat", "log_file",
        "depends_on", "notify", "replicas", "update", "schedule", "time_zone", "concurrency",
        "user", "group", "env_file", "limits", "hooks",
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
        let livenessNode = livenessNode(fields, problems: &problems)
        let liveness = livenessNode.flatMap { readProbe($0, kind: .liveness, problems: &problems) }
        let readiness = fields["readiness"].flatMap { readProbe($0, kind: .readiness, problems: &problems) }
        let startup = fields["startup"].flatMap { readProbe($0, kind: .startup, problems: &problems) }
        let heartbeat = fields["heartbeat"].flatMap { readHeartbeat($0, problems: &problems) }
        let logFile = fields["log_file"].flatMap { readLogFile($0, problems: &problems) }
        let dependsOn = fields["depends_on"].flatMap { readDependsOn($0, problems: &problems) } ?? [:]
        let notify = fields["notify"].flatMap { readNotify($0, problems: &problems) }
        let replicas = fields["replicas"].flatMap { problems.integer($0, in: 1...ConfigDefaults.maxReplicas) }
        let update = fields["update"].flatMap { readUpdate($0, problems: &problems) } ?? .default
        let schedule = readSchedule(fields, problems: &problems)
        let user = fields["user"].flatMap { Self.accountName($0, problems: &problems) }
        let group = fields["group"].flatMap { Self.accountName($0, problems: &problems) }
        let envFiles = fields["env_file"].flatMap { readEnvFiles($0, problems: &problems) } ?? []
        let limits = fields["limits"].flatMap { readLimits($0, problems: &problems) }
        let hooks = fields["hooks"].flatMap { readHooks($0, problems: &problems) }

        if complete, let port, !port.hasPort {
            if let commandNode = fields["command"], let elements = commandNode.elements {
                for element in elements where Self.uses("PORT", element) {
                    problems.add(element, "uses ${PORT} but the process has no port (set port: auto or a number)")
                }
            }
            let probes: [(ConfigNode?, ProbeSpec?)] = [(livenessNode, liveness), (fields["readiness"], readiness), (fields["startup"], startup)]
            for case (let node?, let probe?) in probes where probe.usesProcessPort {
                let action = node["http"] ?? node["tcp"] ?? node
                problems.add(action.path, "needs a port to probe (set port: auto or a number on the process, or port: here)",
                             location: action.location)
            }
        }
        if complete {
            checkStackFields(fields, id: id, restart: restart, port: port, replicas: replicas, scheduled: schedule != nil,
                             problems: &problems)
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
            liveness: liveness,
            readiness: readiness,
            startup: startup,
            heartbeat: heartbeat,
            logFile: logFile,
            dependsOn: dependsOn,
            notify: notify,
            replicas: replicas,
            update: update,
            schedule: schedule,
            user: user,
            group: group,
            envFiles: envFiles,
            limits: limits,
            hooks: hooks
        )
    }
}
