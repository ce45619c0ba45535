import ArgumentParser
import Foundation
import Glibc
import ProcmgrAgent

/// The `procmgr` command line. `procmgr` alone is `procmgr run`: the agent, with the embedded
/// demo when no config is given.
@main
struct ProcmgrCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "procmgr",
        abstract: "Keeps a declared set of processes running and shows everything it does to Prometheus.",
        version: ProcmgrVersion.current,
        subcommands: [
            RunCommand.self, ValidateCommand.self, StatusCommand.self,
            LogsCommand.self, EventsCommand.self,
            RestartCommand.self, StopCommand.self, SignalCommand.self, ScaleCommand.self, ReloadCommand.self,
            FleetCommand.self,
            DemoWorkerCommand.self, EngineExampleCommand.self,
        ],
        defaultSubcommand: RunCommand.self)

    /// ArgumentParser's own `main`, with two differences scripts rely on (``ClientExitCode``):
    /// a usage error exits 2 (as `validate` and `run` do for a bad config), not EX_USAGE (64), and
    /// a ``ClientFailure`` prints as `procmgr: message` and exits with its code.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as ClientFailure {
            FileHandle.standardError.write(Data("procmgr: \(failure)\n".utf8))
            Glibc.exit(failure.code.rawValue)
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Glibc.exit(ClientExitCode.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}
