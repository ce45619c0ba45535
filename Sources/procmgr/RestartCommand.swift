import ArgumentParser

/// `procmgr restart ID`: `POST /api/v1/processes/{id}/restart`.
struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart a process (stop it within its grace period, then start it again).")

    @OptionGroup var connection: AgentConnectionOptions
    @Argument(help: "The process id (as in procmgr status).", completion: ProcessIDCompletion.kind)
    var id: String

    func run() async throws {
        let endpoint = try connection.resolve()
        try await AgentClient.with(endpoint) { client in
            try await client.post("/api/v1/processes/\(AgentClient.segment(id))/restart")
        }
        print("restarting \(id)")
    }
}
