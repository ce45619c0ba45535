import ArgumentParser

/// `procmgr reload`: `POST /-/reload`. A rejected config exits 6 with its problems, one per
/// line on stderr (the old config keeps running).
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the agent re-read its config; a rejected one is reported problem by problem and changes nothing.")

    @OptionGroup var connection: AgentConnectionOptions

    func run() async throws {
        let endpoint = try connection.resolve()
        do {
            try await AgentClient.with(endpoint) { client in
                try await client.post("/-/reload")
            }
        } catch let failure as ClientFailure where failure.code == .refused && !failure.details.isEmpty {
            throw ClientFailure(code: .refused, message: "the agent rejected the new config (\(failure.message)); the old one keeps running:",
                                details: failure.details)
        }
        print("reloaded")
    }
}
