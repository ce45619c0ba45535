import ArgumentParser

/// `procmgr stop ID`: `POST /api/v1/processes/{id}/stop`.
struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a process; it stays stopped until restarted or its config changes.")

    @OptionGroup var connection: AgentConnectionOptions
    @Argument(help: "The process id (as in procmgr status).", completion: ProcessIDCompletion.kind)
    var id: String

    func run() async throws {
        let endpoint = try connection.resolve()
        try await AgentClient.with(endpoint) { client in
            try await client.post("/api/v1/processes/\(AgentClient.segment(id))/stop")
        }
        print("stopping \(id)")
    }
}
