import Foundation
public import ProcmgrConfig

/// Where the agent's config comes from.
public enum ConfigOrigin: Sendable {
    /// A YAML or JSON file, read again on every reload (SIGHUP, file change, `POST /-/reload`).
    case file(path: String)
    /// A document built in (the demo): reloads re-apply it unchanged.
    case embedded(AgentConfig, name: String)

    /// Reads and validates the config as it is now, with the files it names (token file,
    /// log directories, env files, which are read into the specs here) and its users and groups:
    /// a mistake the machine can show is refused here, before anything runs.
    func load() throws(ConfigError) -> AgentConfig {
        switch self {
        case .file(let path): try ConfigLoader.load(path: path, scope: .schemaAndFilesystem)
        case .embedded(let config, _): config
        }
    }

    /// The file to watch for changes, if any.
    var watchedPath: String? {
        if case .file(let path) = self { return path }
        return nil
    }

    /// The file path, or the embedded document's name: what messages about the config cite.
    public var name: String {
        switch self {
        case .file(let path): path
        case .embedded(_, let name): name
        }
    }
}
