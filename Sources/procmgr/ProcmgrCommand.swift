import ArgumentParser
import ProcmgrAgent

/// The `procmgr` command line. `procmgr` alone is `procmgr run`: the agent, with the embedded
/// demo when no config is given.
@main
struct ProcmgrCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "procmgr",
        abstract: "Keeps a declared set of processes running and shows everything it does to Prometheus.",
        version: ProcmgrVersion.current,
        subcommands: [RunCommand.self, ValidateCommand.self, StatusCommand.self, DemoWorkerCommand.self, EngineExampleCommand.self],
        defaultSubcommand: RunCommand.self)
}
