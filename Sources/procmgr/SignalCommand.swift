import ArgumentParser
import ProcmgrHTTP

/// `procmgr signal ID NAME` (or `--name NAME`): `POST /api/v1/processes/{id}/signal?name=NAME`,
/// the signal to the program's whole process group. The name is checked here first, against the
/// same list the agent accepts, so a typo is a usage error that names the choices.
struct SignalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Send a signal to a process's program (its whole process group).")

    static var names: [String] { ProcessSignalName.allCases.map(\.rawValue) }

    @OptionGroup var connection: AgentConnectionOptions
    @Argument(help: "The process id (as in procmgr status).", completion: ProcessIDCompletion.kind)
    var id: String
    @Argument(help: ArgumentHelp("The signal: \(SignalCommand.names.joined(separator: ", ")) (SIG prefix and case optional).", valueName: "name"),
              completion: .list(SignalCommand.names))
    var signalName: String?
    @Option(name: .long, help: ArgumentHelp("The signal, instead of the second argument.", valueName: "name"),
            completion: .list(SignalCommand.names))
    var name: String?

    func validate() throws {
        _ = try signal()
    }

    func run() async throws {
        let signal = try signal()
        let endpoint = try connection.resolve()
        try await AgentClient.with(endpoint) { client in
            try await client.post("/api/v1/processes/\(AgentClient.segment(id))/signal?name=\(signal.rawValue)")
        }
        print("sent SIG\(signal.rawValue) to \(id)")
    }

    private func signal() throws -> ProcessSignalName {
        let text: String
        switch (signalName, name) {
        case (let positional?, nil): text = positional
        case (nil, let option?): text = option
        case (nil, nil): throw ValidationError("name the signal: procmgr signal \(id) HUP (one of \(Self.names.joined(separator: ", ")))")
        case (_?, _?): throw ValidationError("name the signal once: as the second argument or with --name, not both")
        }
        guard let signal = ProcessSignalName(parsing: text) else {
            throw ValidationError("\"\(text)\" is not a signal procmgr sends; use one of \(Self.names.joined(separator: ", ")) (SIG prefix and case optional)")
        }
        return signal
    }
}
