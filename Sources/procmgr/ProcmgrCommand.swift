import ArgumentParser

/// The `procmgr` command line. Until the agent lands (`procmgr run`), it offers `example`, a
/// self-contained tour of the lifecycle engine.
@main
struct ProcmgrCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "procmgr",
        abstract: "Keeps a declared set of processes running and shows everything it does to Prometheus.",
        subcommands: [EngineExampleCommand.self, ValidateCommand.self],
        defaultSubcommand: EngineExampleCommand.self)
}
