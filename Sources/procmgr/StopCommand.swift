import ArgumentParser

/// `procmgr stop ID`: `POST /api/v1/processes/{id}/stop`.
struct StopCommand: ProcessActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a process; it stays stopped until restarted or its config changes.")
    static let action = "stop"
    static let progress = "stopping"

    @OptionGroup var connection: AgentConnectionOptions
    @Argument(help: "The process id (as in procmgr status).", completion: ProcessIDCompletion.kind)
    var id: String
}
