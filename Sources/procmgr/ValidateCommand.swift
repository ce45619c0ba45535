import ArgumentParser
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
        if report.ok {
            print("\(config): valid")
            return
        }
        for line in report.lines { print(line) }
        throw ExitCode(2)
    }
}
