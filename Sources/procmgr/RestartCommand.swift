import ArgumentParser

/// `procmgr restart ID`: `POST /api/v1/processes/{id}/restart`.
struct RestartCommand: ProcessActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Restart a process (stop it within its grace period, then start it again).")
    static let action = "restart"
    static let progress = "restarting"

    @OptionGroup var connection: AgentConnectionOptions
    @Argument(help: "The process id (as in procmgr status).", completion: ProcessIDCompletion.kind)
    var id: String
}
