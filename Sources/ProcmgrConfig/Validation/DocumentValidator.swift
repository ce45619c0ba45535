/// Validates whole documents: the local config file, and an admin response
/// merged with the local overrides. Everything is checked before anything is
/// built, and all problems are thrown together.
enum DocumentValidator {
    static let topLevelKeys = ["agent", "processes"]

    /// The local file. With `agent.admin` set, its processes are checked as
    /// overrides and kept as nodes rather than built into specs.
    static func validateLocal(_ root: ConfigNode, baseDirectory: String?) throws(ConfigError) -> AgentConfig {
        var problems = Problems()
        guard root.entries != nil else {
            throw invalid(root, "expected a mapping at the top level (keys: agent, processes), got \(root.kindDescription)")
        }
        let fields = Fields(root, allowed: topLevelKeys, problems: &problems)!
        let settings = AgentValidator(baseDirectory: baseDirectory).validate(fields["agent"], problems: &problems)
        let adminMode = fields["agent"]?["admin"].map { !$0.isNull } ?? false

        let processNodes = processList(fields["processes"], problems: &problems)
        let validator = ProcessValidator(mode: adminMode ? .override : .complete, baseDirectory: baseDirectory)
        let specs = processNodes.map { validator.validate($0, problems: &problems) }
        CrossProcessChecks.check(processNodes, listen: settings?.listen, baseDirectory: baseDirectory,
                                 includeResources: !adminMode, problems: &problems)

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
    static func validateAdmin(_ root: ConfigNode, overrides: [ConfigNode], listen: ListenAddress?,
                              baseDirectory: String?) throws(ConfigError) -> [ProcessSpec] {
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
        return try validateComplete(merged, listen: listen, baseDirectory: baseDirectory)
    }

    /// Complete-mode validation of an already assembled process list.
    static func validateComplete(_ processes: [ConfigNode], listen: ListenAddress?, baseDirectory: String?,
                                 problems initial: Problems = Problems()) throws(ConfigError) -> [ProcessSpec] {
        var problems = initial
        let validator = ProcessValidator(mode: .complete, baseDirectory: baseDirectory)
        let specs = processes.map { validator.validate($0, problems: &problems) }
        CrossProcessChecks.check(processes, listen: listen, baseDirectory: baseDirectory,
                                 includeResources: true, problems: &problems)
        guard problems.isEmpty else { throw ConfigError(code: .invalid, problems: problems.list) }
        return specs.compactMap { $0 }
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
