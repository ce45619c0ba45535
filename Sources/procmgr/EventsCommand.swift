import ArgumentParser
import Foundation

/// `procmgr events [--process ID] [--since-id N] [--json]`: the agent's lifecycle events as they
/// happen (`GET /api/v1/events`, Server-Sent Events), one per line:
/// `time  type  process  message`. `--json` prints each event's JSON exactly as received, one per
/// line, for scripts.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the agent's lifecycle events (state changes, exits, restarts, probes, reloads, …) as they happen.")

    @OptionGroup var connection: AgentConnectionOptions
    @Option(name: .long, help: ArgumentHelp("Only the events of this process.", valueName: "id"), completion: ProcessIDCompletion.kind)
    var process: String?
    @Option(name: .long, help: ArgumentHelp(
        "Start after event N (replayed from the agent's history) instead of with the next new event.", valueName: "n"))
    var sinceId: UInt64?
    @Flag(name: .long, help: "Print each event's JSON as the agent sent it, one per line.")
    var json = false

    func run() async throws {
        let endpoint = try connection.resolve()
        let style = TerminalStyle.standardOutput()
        let path = "/api/v1/events" + (process.map { "?process=" + AgentClient.segment($0) } ?? "")
        let json = json
        try await AgentClient.with(endpoint) { client in
            var follower = EventStreamFollower(client: client, firstPath: path, resumePath: path, lastEventID: sinceId.map(String.init))
            let line = EventLine(style: style)
            try await follower.run { events in
                let text = events.map { json ? $0.data + "\n" : line.render($0.data) }.joined()
                if !text.isEmpty { ClientOutput.write(text) }
            }
        }
    }
}

/// One event as a line: `2026-12-07 01:02:03.123  restart          api-1   api-1: restarting (exit)`.
/// Only the fields every event has are read, so a type this CLI does not know still prints.
struct EventLine {
    let style: TerminalStyle
    private let decoder = JSONDecoder()
    private let formatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return formatter
    }()

    /// Wide enough for `dependency_wait`.
    static let typeWidth = 15
    static let processWidth = 20

    init(style: TerminalStyle) {
        self.style = style
    }

    func render(_ data: String) -> String {
        guard let event = try? decoder.decode(Fields.self, from: Data(data.utf8)) else {
            return style.printable(data) + "\n"
        }
        let time = formatter.string(from: Date(timeIntervalSince1970: event.time ?? 0))
        let typeName = style.printable(event.type)
        let type = style.paint(typeName.padding(toLength: max(Self.typeWidth, typeName.count), withPad: " ", startingAt: 0), colour(of: event.type))
        let processName = style.printable(event.process ?? "-")
        let process = processName.padding(toLength: max(Self.processWidth, processName.count), withPad: " ", startingAt: 0)
        return "\(style.paint(time, .dim))  \(type)  \(process)  \(style.printable(event.message ?? ""))\n"
    }

    private func colour(of type: String) -> TerminalStyle.Colour {
        switch type {
        case "exit", "restart", "oom": .red
        case "state", "scale": .green
        case "probe", "ready", "dependency_wait": .cyan
        case "reload": .magenta
        default: .blue
        }
    }

    private struct Fields: Decodable {
        let time: Double?
        let type: String
        let process: String?
        let message: String?
    }
}
