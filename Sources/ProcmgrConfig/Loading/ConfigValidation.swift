import Foundation

/// What `procmgr validate <file>` prints: a verdict line, then either every
/// problem (one per line, exactly as `ConfigProblem.description`) or a short
/// summary of the effective configuration.
///
/// With an admin source configured, the local entries are checked as
/// overrides; if the admin cache file exists the merged result is validated
/// too, since that is what the agent would run if the service were down.
/// With an etcd source the local entries are checked as overrides; the keys
/// are validated (one by one) when the agent reads them.
public enum ConfigValidation {
    public static func report(path: String) -> (ok: Bool, lines: [String]) {
        let config: AgentConfig
        do {
            config = try ConfigLoader.load(path: path, scope: .schemaAndFilesystem)
        } catch {
            let count = error.problems.count
            return (false, ["\(path): invalid, \(count) problem\(count == 1 ? "" : "s")"] + error.lines)
        }

        var lines = [String]()
        var ok = true
        let agent = config.agent
        var agentLine = "agent: listen \(agent.listen), ports \(agent.portRange), state_dir \(agent.stateDir), orphans \(agent.orphans)"
        if agent.tokenFile != nil { agentLine += ", token required" }
        var processes = config.processes

        if let admin = agent.admin {
            let overrideCount = config.overrides.count
            lines.append("\(path): valid, admin source \(admin.url.absoluteString), \(overrideCount) local override\(overrideCount == 1 ? "" : "s")")
            lines.append(agentLine)
            switch readCache(admin.cacheFile) {
            case .success(let cached?):
                do {
                    processes = try ConfigLoader.mergeAdmin(response: cached, into: config, scope: .schemaAndFilesystem)
                    lines.append("admin cache \(admin.cacheFile): valid when merged, \(processes.count) process\(processes.count == 1 ? "" : "es")")
                } catch {
                    ok = false
                    let count = error.problems.count
                    lines.append("admin cache \(admin.cacheFile): invalid when merged, \(count) problem\(count == 1 ? "" : "s")")
                    lines.append(contentsOf: error.lines)
                    processes = []
                }
            case .success(nil):
                lines.append("admin cache \(admin.cacheFile): not present; admin processes are validated when fetched")
            case .failure(let failure):
                ok = false
                lines.append("admin cache \(admin.cacheFile): \(failure)")
                processes = []
            }
        } else if let etcd = agent.etcd {
            let overrideCount = config.overrides.count
            let endpoints = etcd.endpoints.map(\.absoluteString).joined(separator: ",")
            lines.append("\(path): valid, etcd source \(endpoints) node \(etcd.node), \(overrideCount) local override\(overrideCount == 1 ? "" : "s")")
            lines.append(agentLine)
            lines.append("etcd keys \(etcd.prefix)/nodes/\(etcd.node)/processes/ and \(etcd.prefix)/all/processes/: validated when read")
        } else {
            lines.append("\(path): valid, \(processes.count) process\(processes.count == 1 ? "" : "es")")
            lines.append(agentLine)
        }
        lines.append(contentsOf: processes.map(summary))
        return (ok, lines)
    }

    /// The admin cache through the bounded reader: `nil` when there is none.
    private static func readCache(_ path: String) -> Result<Data?, ConfigFileReader.Failure> {
        do throws(ConfigFileReader.Failure) {
            return .success(try ConfigFileReader.read(path: path))
        } catch .missing {
            return .success(nil)
        } catch {
            return .failure(error)
        }
    }

    /// `process api-1: port auto, restart always, liveness http /api/status, command dist/bin/servicehost -port ${PORT}`
    static func summary(of process: ProcessSpec) -> String {
        var parts = ["port \(process.port)", "restart \(process.restart)"]
        if let replicas = process.replicas { parts.append("replicas \(replicas)") }
        if let schedule = process.schedule { parts.append("schedule \(schedule.cron.text) \(schedule.timeZone)") }
        for (kind, probe) in [(ProbeKind.liveness, process.liveness), (.readiness, process.readiness), (.startup, process.startup)] {
            guard let probe else { continue }
            switch probe.action {
            case .http(let path, _, _): parts.append("\(kind.rawValue) http \(path)")
            case .tcp: parts.append("\(kind.rawValue) tcp")
            case .exec(let command): parts.append("\(kind.rawValue) exec \(command[0])")
            }
        }
        if !process.dependsOn.isEmpty {
            let dependencies = process.dependsOn.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.condition.rawValue)" }
            parts.append("depends on \(dependencies.joined(separator: ","))")
        }
        if process.notify != nil { parts.append("notify") }
        if process.heartbeat != nil { parts.append("heartbeat") }
        if !process.hostnames.isEmpty { parts.append("hostnames \(process.hostnames.joined(separator: ","))") }
        parts.append("command \(process.command.joined(separator: " "))")
        return "process \(process.id): " + parts.joined(separator: ", ")
    }
}
