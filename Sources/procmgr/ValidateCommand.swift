import ArgumentParser
import ProcmgrAgent
import ProcmgrConfig

/// `procmgr validate --config PATH`: every problem of the document, one per line with its path,
/// and a non-zero exit when there is any. Nothing is started.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config file and print every problem with its path in the document.")

    @Option(name: .long, help: "The config file (YAML or JSON).")
    var config: String

    func run() throws {
        let report = ConfigValidation.report(path: config)
        var lines = report.lines
        var ok = report.ok
        // The open-file arithmetic, against the limit an agent started from this shell could
        // reach (its hard limit, or fs.nr_open as root): what `procmgr run` would refuse.
        if ok, let loaded = try? ConfigLoader.load(path: config), let problem = DescriptorCheck.problemForThisShell(loaded.processes, adoptableOutput: loaded.agent.orphans == .adopt) {
            lines.append(problem.description)
            ok = false
        }
        if ok {
            print("\(config): valid")
            return
        }
        for line in lines { print(line) }
        throw ExitCode(2)
    }
}
