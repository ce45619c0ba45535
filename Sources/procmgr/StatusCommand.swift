import ArgumentParser
import Foundation
import ProcmgrHTTP

/// `procmgr status [--agent URL] [--token-file PATH] [--config PATH]`: the processes of a running
/// agent as a table.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the processes of a running agent (id, state, pid, port, health, restarts, uptime, last error).")

    @OptionGroup var connection: AgentConnectionOptions

    func run() async throws {
        let endpoint = try connection.resolve()
        let body = try await AgentClient.with(endpoint) { client in
            try await client.get("/api/v1/processes")
        }
        let processes: [ProcessView]
        do {
            processes = try JSONDecoder().decode([ProcessView].self, from: body)
        } catch {
            throw ClientFailure(code: .failure, message: "the agent at \(endpoint.baseURL) sent an unexpected answer: \(error)")
        }
        print(StatusTable.render(processes, now: Date().timeIntervalSince1970))
    }
}

/// The `procmgr status` table: fixed columns, widths from the content.
enum StatusTable {
    static let header = ["ID", "STATE", "PID", "PORT", "HEALTH", "RESTARTS", "UPTIME", "LAST ERROR / STATUS"]
    /// A program's sd_notify `STATUS=` is cut to this many characters in the table (the API has
    /// all of it).
    static let statusWidth = 60

    static func render(_ processes: [ProcessView], now: Double) -> String {
        let rows = processes.map { process -> [String] in
            [
                process.id,
                process.state,
                process.pid.map(String.init) ?? "-",
                process.port.map(String.init) ?? "-",
                process.state == "running" ? (process.healthy ? "healthy" : "unhealthy") : "-",
                String(process.restarts),
                process.startedAt.map { uptime(now - $0) } ?? "-",
                process.lastError ?? process.status.map(statusCell) ?? process.lastExit ?? "",
            ]
        }
        return TextColumns.lines([header] + rows).joined(separator: "\n")
    }

    /// `status: <text>` on one line, cut to ``statusWidth``: an error, when there is one, matters
    /// more and takes the column instead. Control characters become `?`: the text comes from the
    /// program and must not drive the operator's terminal.
    static func statusCell(_ status: String) -> String {
        let line = status.map { character -> Character in
            if character.isNewline { return " " }
            return character.unicodeScalars.contains { $0.properties.generalCategory == .control } ? "?" : character
        }
        let text = line.count > statusWidth ? String(line.prefix(statusWidth - 1)) + "…" : String(line)
        return "status: \(text)"
    }

    static func uptime(_ seconds: Double) -> String {
        let total = max(0, Int(seconds))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(total % 60)s" }
        if total < 86400 { return "\(total / 3600)h\(total % 3600 / 60)m" }
        return "\(total / 86400)d\(total % 86400 / 3600)h"
    }
}
