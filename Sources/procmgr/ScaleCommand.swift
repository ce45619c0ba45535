import ArgumentParser

/// `procmgr scale ID --replicas N`: `POST /api/v1/processes/{id}/scale?replicas=N`.
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Set the number of replicas of a process (kept until its config changes).")

    /// As the agent's `?replicas=` and the config's `replicas:`.
    static let replicasRange = 0...1_000

    @OptionGroup var connection: AgentConnectionOptions
    @Argument(help: "The process id as configured (without a replica suffix).", completion: ProcessIDCompletion.kind)
    var id: String
    @Option(name: .long, help: ArgumentHelp("How many replicas to run (0-1000).", valueName: "n"))
    var replicas: Int

    func validate() throws {
        guard Self.replicasRange.contains(replicas) else {
            throw ValidationError("--replicas must be from \(Self.replicasRange.lowerBound) to \(Self.replicasRange.upperBound), not \(replicas)")
        }
    }

    func run() async throws {
        let endpoint = try connection.resolve()
        try await AgentClient.with(endpoint) { client in
            try await client.post("/api/v1/processes/\(AgentClient.segment(id))/scale?replicas=\(replicas)")
        }
        print("scaling \(id) to \(replicas) replica\(replicas == 1 ? "" : "s")")
    }
}
