import ArgumentParser
import Foundation
import ProcmgrConfig

/// How a client command finds and authenticates to the agent: `--agent`, `--token-file`,
/// `--config`. Each setting comes from its flag, else from the config the agent runs with
/// (`agent.listen`, `agent.token_file`), else the default (`http://127.0.0.1:9464`, no token), so
/// `procmgr restart web --config stack.yaml` reaches the agent `procmgr run --config stack.yaml`
/// started.
struct AgentConnectionOptions: ParsableArguments {
    static let defaultURL = "http://127.0.0.1:9464"

    @Option(name: .long, help: ArgumentHelp(
        "The agent's base URL (default: from --config's agent.listen, else \(AgentConnectionOptions.defaultURL)).",
        valueName: "url"))
    var agent: String?

    @Option(name: .long, help: ArgumentHelp(
        "A file holding the API token, sent as 'Authorization: Bearer' (default: --config's agent.token_file, else none).",
        valueName: "path"),
        completion: .file())
    var tokenFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "The agent's config file: its agent.listen and agent.token_file are used unless given above.",
        valueName: "path"),
        completion: .file(extensions: ["yaml", "yml", "json"]))
    var config: String?

    func validate() throws {
        if let agent, AgentEndpoint.normalizedURL(agent) == nil {
            throw ValidationError("--agent \"\(agent)\" is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:9464)")
        }
    }

    /// The endpoint, reading the config and the token file as needed. A config or token file
    /// that cannot be used is a usage error: the command line named it.
    func resolve() throws(ClientFailure) -> AgentEndpoint {
        try Self.resolve(agent: agent, tokenFile: tokenFile, config: config)
    }

    static func resolve(agent: String?, tokenFile: String?, config: String?) throws(ClientFailure) -> AgentEndpoint {
        var settings: AgentSettings?
        if let config {
            do {
                settings = try ConfigLoader.load(path: config).agent
            } catch {
                throw ClientFailure(code: .usage, message: "--config \(config) cannot be used:", details: error.lines)
            }
        }
        let url = agent.flatMap(AgentEndpoint.normalizedURL) ?? settings.map { AgentEndpoint.url(listen: $0.listen) } ?? defaultURL
        let token = try (tokenFile ?? settings?.tokenFile).map(readToken)
        return AgentEndpoint(baseURL: url, token: token)
    }

    /// The file's content without surrounding whitespace, as the agent reads it.
    private static func readToken(path: String) throws(ClientFailure) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ClientFailure(code: .usage, message: "the token file \(path) cannot be read")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ClientFailure(code: .usage, message: "the token file \(path) is empty") }
        return token
    }
}

/// Where the agent is and the token to show it.
struct AgentEndpoint: Sendable {
    /// `http://host:port`, no trailing slash.
    let baseURL: String
    let token: String?

    /// `url` without a trailing slash, or nil when it is not http(s) with a host.
    static func normalizedURL(_ url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parsed.host, !host.isEmpty else { return nil }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// The URL that reaches a listener: a wildcard address is reached on loopback.
    static func url(listen: ListenAddress) -> String {
        let host = switch listen.host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::": "::1"
        default: listen.host
        }
        return "http://" + ListenAddress(host: host, port: listen.port).description
    }
}
