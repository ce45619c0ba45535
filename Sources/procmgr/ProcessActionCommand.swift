import ArgumentParser

/// A verb that is one POST on one process, `/api/v1/processes/{id}/<action>`, with nothing to
/// print but that it was accepted (`restart`, `stop`).
protocol ProcessActionCommand: AsyncParsableCommand {
    /// The last path segment of the route.
    static var action: String { get }
    /// What is printed on success, before the id (`restarting web`).
    static var progress: String { get }
    var connection: AgentConnectionOptions { get }
    var id: String { get }
}

extension ProcessActionCommand {
    func run() async throws {
        let endpoint = try connection.resolve()
        try await AgentClient.with(endpoint) { client in
            try await client.post("/api/v1/processes/\(AgentClient.segment(id))/\(Self.action)")
        }
        print("\(Self.progress) \(id)")
    }
}
