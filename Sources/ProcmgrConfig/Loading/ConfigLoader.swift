public import Foundation

/// Entry points for turning configuration files and admin responses into
/// validated models. Every function either returns a fully validated value or
/// throws one `ConfigError` listing every problem found; nothing is applied
/// half-way.
///
/// Relative paths (`working_dir`, `state_dir`, `log_file.path`, `token_file`,
/// `admin.token_file`, `admin.cache_file`, `etcd.password_file`, `etcd.tls.*`,
/// `etcd.cache_file`) are resolved against the directory
/// of the config file, not the agent's working directory, so the same file
/// means the same thing wherever the agent is started from. Paths in admin
/// responses and etcd entries resolve against the same directory. Resolution is lexical (see
/// `PathResolver`).
public enum ConfigLoader {
    /// Reads and validates the config file at `path`. The format comes from
    /// the extension (`.json`, `.yaml`, `.yml`), else from the content.
    ///
    /// The file must be a regular file of at most 4 MiB
    /// (`ConfigFileReader.maxConfigBytes`); with `.schemaAndFilesystem` the
    /// files it names are checked too (`ValidationScope`), as the agent and
    /// `procmgr validate` do.
    public static func load(path: String, scope: ValidationScope = .schema) throws(ConfigError) -> AgentConfig {
        let absolute = PathResolver.resolve(path, against: FileManager.default.currentDirectoryPath)
        let data = try read(path: absolute)
        return try parse(data: data, format: ConfigFormat.fromExtension(of: path),
                         baseDirectory: (absolute as NSString).deletingLastPathComponent, scope: scope)
    }

    /// Parses and validates a config document held in memory.
    /// - Parameters:
    ///   - format: `nil` to decide from the content.
    ///   - baseDirectory: directory relative paths resolve against; `nil`
    ///     keeps them relative (normalized) as written.
    ///   - scope: `.schemaAndFilesystem` also checks the files the config
    ///     names; relative ones resolve against `baseDirectory` (or the
    ///     current directory without one).
    public static func parse(data: Data, format: ConfigFormat? = nil, baseDirectory: String? = nil,
                             scope: ValidationScope = .schema) throws(ConfigError) -> AgentConfig {
        let root = try DocumentReader.read(data, format: format, document: nil)
        return try DocumentValidator.validateLocal(root, baseDirectory: baseDirectory, scope: scope)
    }

    /// Parses a config document into its node tree without validating it.
    public static func parseNodes(data: Data, format: ConfigFormat? = nil, document: String? = nil) throws(ConfigError) -> ConfigNode {
        try DocumentReader.read(data, format: format, document: document)
    }

    /// The label admin-service documents carry in problem paths.
    public static let adminDocument = "admin"

    /// Merges an admin-service response (`{"processes": [...]}`, JSON) — or
    /// the cached copy of one — with `config`'s local overrides and validates
    /// the result as a whole. Problems in fields from the admin service are
    /// reported as `admin:processes[3].port`, those from the local file as
    /// `processes[0].port`.
    ///
    /// The response goes through the same bounded reader as a file (4 MiB,
    /// nesting and node limits enforced while parsing); with
    /// `.schemaAndFilesystem` the merged processes' log files are checked.
    public static func mergeAdmin(response: Data, into config: AgentConfig,
                                  scope: ValidationScope = .schema) throws(ConfigError) -> [ProcessSpec] {
        let root = try DocumentReader.read(response, format: .json, document: adminDocument)
        return try DocumentValidator.validateAdmin(root, overrides: config.overrides, listen: config.agent.listen,
                                                   portRange: config.agent.portRange,
                                                   baseDirectory: config.baseDirectory, scope: scope)
    }

    /// The file's bytes, or a problem saying precisely why not (missing,
    /// permission, a directory/FIFO/device, over the size cap).
    static func read(path: String) throws(ConfigError) -> Data {
        do throws(ConfigFileReader.Failure) {
            return try ConfigFileReader.read(path: path)
        } catch {
            let code: ConfigError.Code = if case .tooLarge = error { .limit } else { .unreadable }
            throw ConfigError(code: code, problems: [ConfigProblem(path: ConfigPath(), message: "\(path): \(error)")])
        }
    }
}
