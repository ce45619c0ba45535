import ArgumentParser
import Foundation
import ProcmgrHTTP

/// `procmgr logs [-f] [--tail N] ID`: a process's recent output, and with `-f` every new line
/// as it is written (`GET /api/v1/processes/{id}/logs`, `?follow=true` as Server-Sent Events).
///
/// Every line goes to stdout, stderr lines included, in the order the program wrote them, so a
/// pipe sees the program's whole output. On a terminal, stderr lines are marked `[err]` (dim when
/// colours are on) and control characters are shown as `^X`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a process's recent output lines; with -f, keep printing new ones.")

    /// As the agent's `?tail=`.
    static let tailRange = 1...10_000

    @OptionGroup var connection: AgentConnectionOptions
    @Flag(name: [.short, .long], help: "Keep following: print every new line until interrupted (reconnects if the agent restarts).")
    var follow = false
    @Option(name: .long, help: ArgumentHelp("How many recent lines to print first (1-10000; the agent's default is 100).", valueName: "n"))
    var tail: Int?
    @Argument(help: "The process id (as in procmgr status).", completion: ProcessIDCompletion.kind)
    var id: String

    func validate() throws {
        if let tail, !Self.tailRange.contains(tail) {
            throw ValidationError("--tail must be from \(Self.tailRange.lowerBound) to \(Self.tailRange.upperBound), not \(tail)")
        }
    }

    func run() async throws {
        let endpoint = try connection.resolve()
        let style = TerminalStyle.standardOutput()
        let path = "/api/v1/processes/\(AgentClient.segment(id))/logs"
        let tailQuery = tail.map { "tail=\($0)" }
        try await AgentClient.with(endpoint) { client in
            guard follow else {
                let body = try await client.get(path + (tailQuery.map { "?" + $0 } ?? ""))
                let lines: [LogLineView]
                do {
                    lines = try JSONDecoder().decode(LogsAnswer.self, from: body).lines
                } catch {
                    throw ClientFailure(code: .failure, message: "the agent sent an unexpected logs answer: \(error)")
                }
                ClientOutput.write(lines.map { render($0, style: style) }.joined())
                return
            }
            var follower = EventStreamFollower(
                client: client, firstPath: path + "?follow=true" + (tailQuery.map { "&" + $0 } ?? ""),
                resumePath: path + "?follow=true", lastEventID: nil)
            let decoder = JSONDecoder()
            try await follower.run { events in
                var text = ""
                for event in events where event.type == "line" {
                    guard let line = try? decoder.decode(LogLineView.self, from: Data(event.data.utf8)) else {
                        ClientOutput.warn("skipped a log event that is not a line: \(event.data.prefix(200))")
                        continue
                    }
                    text += render(line, style: style)
                }
                if !text.isEmpty { ClientOutput.write(text) }
            }
        }
    }

    private func render(_ line: LogLineView, style: TerminalStyle) -> String {
        let text = style.printable(line.text)
        guard style.isTerminal, line.stream == "stderr" else { return text + "\n" }
        return style.paint("[err]", .dim) + " " + text + "\n"
    }

    private struct LogsAnswer: Decodable {
        let lines: [LogLineView]
    }
}
