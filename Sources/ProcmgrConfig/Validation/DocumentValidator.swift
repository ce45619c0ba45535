/// Validates whole documents: the local config file, and an admin response
/// merged with the local overrides. Everything is checked before anything is
/// built, and all problems are thrown together.
enum DocumentValidator {
    static let topLevelKeys = ["agent", "processes"]

    /// The local file. With `agent.admin` or `agent.etcd` set, its processes are
    /// checked as overrides and kept as nodes rather than built into specs.
    static func validateLocal(_ root: ConfigNode, baseDirectory: String?,
                              scope: ValidationScope = .schema) throws(ConfigError) -> AgentConfig {
        var problems = Problems()
        guard root.entries != nil else {
            throw invalid(root, "expected a mapping at the top level (keys: agent, processes), got \(root.kindDescription)")
        }
        guard let fields = Fields(root, allowed: topLevelKeys, problems: &problems) else {
            throw invalid(root, "expected a mapping at the top level (keys: agent, processes), got \(root.kindDescription)")
        }
        let settings = AgentValidator(baseDirectory: baseDirectory).validate(fields["agent"], problems: &problems)
        // With a desired-state source (admin or etcd), local entries are overrides of its entries.
        let adminMode = ["admin", "etcd"].contains { key in fields["agent"]?[key].map { !$0.isNull } ?? false }

        let processNodes = processList(fields["processes"], problems: &problems)
        let validator = ProcessValidator(mode: adminMode ? .override : .complete, baseDirectory: baseDirectory)
        var specs = processNodes.map { validator.validate($0, problems: &problems) }
        CrossProcessChecks.check(processNodes, listen: settings?.listen, portRange: settings?.portRange,
                                 baseDirectory: baseDirectory, includeResources: !adminMode, problems: &problems)
        if !adminMode { DependencyChecks.check(processNodes, problems: &problems) }
        if scope == .schemaAndFilesystem {
            // Only what is valid so far: a path that is itself wrong already has its problem.
            if let settings, let tokenFile = settings.tokenFile, let node = fields["agent"]?["token_file"] {
                FilesystemChecks.checkToken(tokenFile, node: node, problems: &problems)
            }
            if let etcd = settings?.etcd, let node = fields["agent"]?["etcd"] {
                FilesystemChecks.checkEtcd(etcd, node: node, problems: &problems)
            }
            checkIdentities(processNodes, specs, problems: &problems)
            EnvFileLoading.apply(processNodes, &specs, problems: &problems)
            checkLogFiles(processNodes, specs, problems: &problems)
            checkProbeCommands(processNodes, specs, problems: &problems)
        }

        guard problems.isEmpty, let settings else { throw ConfigError(code: .invalid, problems: problems.list) }
        return AgentConfig(
            agent: settings,
            processes: adminMode ? [] : specs.compactMap { $0 },
            overrides: adminMode ? processNodes : [],
            baseDirectory: baseDirectory
        )
    }

    /// An admin response (`{"processes": [...]}`) merged with `overrides`,
    /// validated as complete processes.
    static func validateAdmin(_ root: ConfigNode, overrides: [ConfigNode], listen: ListenAddress?, portRange: PortRange?,
                              baseDirectory: String?, scope: ValidationScope = .schema) throws(ConfigError) -> [ProcessSpec] {
        var problems = Problems()
        guard let fields = Fields(root, allowed: ["processes"], problems: &problems) else {
            throw ConfigError(code: .invalid, problems: problems.list)
        }
        let required = fields.required("processes", enforce: true, problems: &problems)
        let adminNodes = processList(required, problems: &problems)
        // Without a usable admin list, merging would only add noise: every
        // override would look like an incomplete local-only process.
        guard problems.isEmpty else { throw ConfigError(code: .invalid, problems: problems.list) }
        let merged = ConfigMerger.merge(admin: adminNodes, overrides: overrides)
        return try validateComplete(merged, listen: listen, portRange: portRange, baseDirectory: baseDirectory, scope: scope)
    }

    /// Complete-mode validation of an already assembled process list.
    /// `wholeDocument: false` is one spec decoded on its own, whose
    /// dependencies are defined elsewhere and cannot be checked here.
    /// `blameEachOverflow`: see `CrossProcessChecks.check`.
    static func validateComplete(_ processes: [ConfigNode], listen: ListenAddress?, portRange: PortRange?,
                                 baseDirectory: String?, scope: ValidationScope = .schema, wholeDocument: Bool = true,
                                 blameEachOverflow: Bool = false,
                                 problems initial: Problems = Problems()) throws(ConfigError) -> [ProcessSpec] {
        var problems = initial
        let validator = ProcessValidator(mode: .complete, baseDirectory: baseDirectory)
        var specs = processes.map { validator.validate($0, problems: &problems) }
        CrossProcessChecks.check(processes, listen: listen, portRange: portRange, baseDirectory: baseDirectory,
                                 includeResources: true, blameEachOverflow: blameEachOverflow, problems: &problems)
        if wholeDocument { DependencyChecks.check(processes, problems: &problems) }
        if scope == .schemaAndFilesystem {
            checkIdentities(processes, specs, problems: &problems)
            EnvFileLoading.apply(processes, &specs, problems: &problems)
            checkLogFiles(processes, specs, problems: &problems)
            checkProbeCommands(processes, specs, problems: &problems)
        }
        guard problems.isEmpty else { throw ConfigError(code: .invalid, problems: problems.list) }
        return specs.compactMap { $0 }
    }

    /// `IdentityChecks` of every process that validated and names a user or group.
    private static func checkIdentities(_ nodes: [ConfigNode], _ specs: [ProcessSpec?], problems: inout Problems) {
        for (node, spec) in zip(nodes, specs) {
            guard let spec, spec.user != nil || spec.group != nil else { continue }
            IdentityChecks.check(user: spec.user, group: spec.group, userNode: node["user"], groupNode: node["group"],
                                 problems: &problems)
        }
    }

    /// `FilesystemChecks` of the log file of every process that validated (`specs` is
    /// parallel to `nodes`, `nil` where a process has problems or is an override).
    private static func checkLogFiles(_ nodes: [ConfigNode], _ specs: [ProcessSpec?], problems: inout Problems) {
        for (node, spec) in zip(nodes, specs) {
            guard let logFile = spec?.logFile, let pathNode = node["log_file"]?["path"] else { continue }
            FilesystemChecks.checkLogFile(logFile.path, node: pathNode, problems: &problems)
        }
    }

    /// `FilesystemChecks` of each `exec` probe's program, looked up in the
    /// PATH the probe will run with (the process's `env`, else the agent's).
    private static func checkProbeCommands(_ nodes: [ConfigNode], _ specs: [ProcessSpec?], problems: inout Problems) {
        for (node, spec) in zip(nodes, specs) {
            guard let spec else { continue }
            let probes: [(ConfigNode?, ProbeSpec?)] = [
                (node["liveness"] ?? node["health"], spec.liveness), (node["readiness"], spec.readiness), (node["startup"], spec.startup),
            ]
            for case (let probeNode?, let probe?) in probes {
                guard case .exec(let command) = probe.action, let program = probeNode["exec"]?["command"]?.elements?.first
                else { continue }
                FilesystemChecks.checkProgram(command[0], searchPath: spec.env["PATH"], workingDirectory: spec.workingDir,
                                              node: program, problems: &problems)
            }
        }
    }

    /// The elements of `processes:`; empty (with a problem) when it is not an array.
    private static func processList(_ node: ConfigNode?, problems: inout Problems) -> [ConfigNode] {
        guard let node else { return [] }
        guard let elements = node.elements else {
            problems.add(node, "expected an array of processes, got \(node.kindDescription)")
            return []
        }
        return elements
    }

    private static func invalid(_ node: ConfigNode, _ message: String) -> ConfigError {
        ConfigError(code: .invalid, problems: [ConfigProblem(path: node.path, message: message, location: node.location)])
    }
}
