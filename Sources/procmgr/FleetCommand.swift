import ArgumentParser
import Foundation
import Logging
import ProcmgrAgent
import ProcmgrEtcd

/// `procmgr fleet …`: the fleet on etcd as a whole, read from etcd itself (no agent needed).
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Inspect a fleet of agents on etcd.",
        subcommands: [FleetStatusCommand.self])
}

/// `procmgr fleet status --etcd URL [--node N]`: every registered node and its processes, from
/// the registration and status keys the agents write (SPEC §3.6).
struct FleetStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every node's processes from etcd's status keys (state, pid, ready, health, restarts, last exit).")

    @Option(name: .customLong("etcd"), help: ArgumentHelp("An etcd endpoint (http(s)://host:port); repeat or comma-separate for several.", valueName: "URL"))
    var endpoints: [String]

    @Option(help: "The fleet's key prefix (agent.etcd.prefix).")
    var prefix = "/procmgr"

    @Option(help: "Only this node.")
    var node: String?

    @Option(help: "etcd user name (with --password-file).")
    var username: String?

    @Option(help: "File holding the etcd user's password.")
    var passwordFile: String?

    @Flag(help: "Print the keys' JSON instead of a table.")
    var json = false

    func validate() throws {
        guard !urls().isEmpty else { throw ValidationError("--etcd needs at least one http(s)://host:port endpoint") }
        for text in endpointTexts() where FleetStatusCommand.url(text) == nil {
            throw ValidationError("--etcd \(text) is not an http(s)://host:port URL")
        }
        if (username == nil) != (passwordFile == nil) { throw ValidationError("--username and --password-file go together") }
    }

    func run() async throws {
        var password: String?
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ClientFailure(code: .usage, message: "--password-file \(passwordFile) cannot be read")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        var logger = Logger(label: "procmgr.fleet")
        logger.logLevel = .critical
        let client = EtcdClient(configuration: EtcdClientConfiguration(endpoints: urls(), username: username, password: password), logger: logger)
        let report: FleetReport
        do {
            report = try await FleetReport.read(client: client, prefix: prefix, node: node)
        } catch {
            await client.shutdown()
            throw ClientFailure(code: .unreachable, message: "cannot read the fleet from etcd: \(error)")
        }
        await client.shutdown()
        print(json ? report.json() : report.table())
    }

    private func endpointTexts() -> [String] {
        endpoints.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
    }

    private func urls() -> [URL] { endpointTexts().compactMap(FleetStatusCommand.url) }

    static func url(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host?.isEmpty == false
        else { return nil }
        return url
    }
}

/// The fleet as etcd holds it: registrations and status keys, one read at one revision.
struct FleetReport {
    struct Node {
        var name: String
        var registration: FleetRegistrationRecord?
        var processes: [FleetProcessStatus]
    }

    var nodes: [Node]
    var revision: Int64

    static func read(client: EtcdClient, prefix: String, node: String?) async throws(EtcdError) -> FleetReport {
        let agentsPrefix = "\(prefix)/agents/"
        let statusPrefix = node.map { "\(prefix)/status/\($0)/" } ?? "\(prefix)/status/"
        let agents = try await client.range(prefix: node.map { agentsPrefix + $0 } ?? agentsPrefix)
        let statuses = try await client.range(prefix: statusPrefix, revision: agents.revision)
        var nodes: [String: Node] = [:]
        for kv in agents.kvs {
            guard let name = FleetKeys.id(of: kv.key, under: agentsPrefix), node == nil || name == node else { continue }
            nodes[name, default: Node(name: name, processes: [])].registration = FleetRegistrationRecord.decode(kv.value)
        }
        for kv in statuses.kvs {
            let rest = kv.key.dropFirst("\(prefix)/status/".count).split(separator: "/", maxSplits: 1)
            guard rest.count == 2, let status = FleetProcessStatus.decode(kv.value) else { continue }
            nodes[String(rest[0]), default: Node(name: String(rest[0]), processes: [])].processes.append(status)
        }
        return FleetReport(nodes: nodes.keys.sorted().compactMap { nodes[$0] }, revision: agents.revision)
    }

    func table() -> String {
        guard !nodes.isEmpty else { return "no agent registered (revision \(revision))" }
        var lines: [String] = []
        for node in nodes {
            if let registration = node.registration {
                lines.append("NODE \(node.name)  \(registration.apiURL)  version \(registration.version)  \(registration.processes) processes")
            } else {
                lines.append("NODE \(node.name)  (not registered: status keys without a registration)")
            }
            let header = ["ID", "STATE", "PID", "READY", "HEALTH", "RESTARTS", "LAST EXIT / ERROR"]
            let rows = node.processes.sorted { $0.id < $1.id }.map { process in
                [process.id, process.state, process.pid.map(String.init) ?? "-", process.ready ? "yes" : "no",
                 process.state == "running" ? (process.healthy ? "healthy" : "unhealthy") : "-",
                 String(process.restarts), process.lastError ?? process.lastExit ?? ""]
            }
            lines += TextColumns.lines([header] + rows).map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        let object: [[String: Any]] = nodes.map { node in
            var entry: [String: Any] = ["node": node.name]
            if let registration = node.registration,
               let data = try? JSONSerialization.jsonObject(with: Data(registration.encoded())) {
                entry["registration"] = data
            }
            entry["processes"] = node.processes.sorted { $0.id < $1.id }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.encoded())) }
            return entry
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
