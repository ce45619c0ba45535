import Foundation
import Glibc

/// The invariants checked after every fault. Each is a fact about the agent, its API, its
/// metrics and /proc that must hold once the system settled; `ChaosInvariants.settle` polls
/// them until all hold or a deadline passes (never a fixed sleep) and reports the ones still
/// failing then, with what it saw.
enum ChaosInvariant: String, CaseIterable {
    /// The agent process is alive and answers `/healthz`.
    case agentAlive = "agent-alive"
    /// Every desired process is listed `running` with a live pid, and nothing else is listed.
    case allRunning = "all-running"
    /// `procmgr_processes{state}` equals the API's count per state.
    case apiMatchesMetrics = "api-matches-metrics"
    /// Every running pid is a live group leader in /proc, and the live group leaders carrying
    /// the run's marker are exactly the API's running pids.
    case apiMatchesProc = "api-matches-proc"
    /// No live process from the agent's tree outside a managed process group (the agent and
    /// its guardian aside).
    case noOrphan = "no-orphan"
    /// No zombie child of the agent.
    case noZombie = "no-zombie"
    /// No metric series labelled with a process that is not desired.
    case noStaleSeries = "no-stale-series"
    /// With `orphans: kill`, the guardian (`procmgr-guard`, a child of the agent) is alive.
    case guardianAlive = "guardian-alive"
    /// After the agent was SIGKILLed, nothing from its tree is alive (`orphans: kill`).
    case noSurvivor = "no-survivor"
    /// With `orphans: adopt`, the children outlive a SIGKILLed agent and the next agent lists
    /// the same pids.
    case adopted = "adopted"
    /// `POST /-/reload` answers 200 for a valid config and 422 for an invalid one.
    case reloadAnswer = "reload-answer"
    /// Once the state directory has room again, `children.json` lists exactly the running pids.
    case stateFileCurrent = "state-file-current"
    /// With the agent's descriptors exhausted by idle connections, a killed child is still
    /// restarted (seen in /proc).
    case supervisedUnderLoad = "supervised-under-load"

    /// The invariants `settle` checks after every step; the others belong to particular faults.
    static let everyStep: Set<ChaosInvariant> = [
        .agentAlive, .allRunning, .apiMatchesMetrics, .apiMatchesProc, .noOrphan, .noZombie, .noStaleSeries, .guardianAlive,
    ]
}

struct ChaosObservation {
    /// id → (state, pid)
    var api: [String: (state: String, pid: Int32?)] = [:]
    var metricsText = ""
    var proc = ChaosProcTable()
    var failures: [ChaosInvariant: String] = [:]
}

enum ChaosInvariants {
    /// Polls every invariant in `checked` until all hold or `timeout` passes; returns the
    /// failures of the last look (empty: all held) and that observation.
    static func settle(
        agent: ChaosAgent, desired: Set<String>, killMode: Bool, marker: String,
        checked: Set<ChaosInvariant> = ChaosInvariant.everyStep, timeout: Duration = .seconds(15)
    ) -> ChaosObservation {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var observation = ChaosObservation()
        repeat {
            observation = look(agent: agent, desired: desired, killMode: killMode, marker: marker)
            observation.failures = observation.failures.filter { checked.contains($0.key) }
            if observation.failures.isEmpty { return observation }
            usleep(50_000)
        } while ContinuousClock.now < deadline
        return observation
    }

    static func look(agent: ChaosAgent, desired: Set<String>, killMode: Bool, marker: String) -> ChaosObservation {
        var seen = ChaosObservation()
        guard agent.isRunning else {
            seen.failures[.agentAlive] = "procmgr run exited with status \(agent.process.terminationStatus)"
            return seen
        }
        let processes: ChaosHTTP.Reply
        let metrics: ChaosHTTP.Reply
        do {
            let health = try ChaosHTTP.request(port: agent.port, path: "/healthz", timeout: 2)
            guard health.status == 200 else {
                seen.failures[.agentAlive] = "/healthz answered \(health.status)"
                return seen
            }
            processes = try ChaosHTTP.request(port: agent.port, path: "/api/v1/processes", timeout: 5)
            metrics = try ChaosHTTP.request(port: agent.port, path: "/metrics", timeout: 5)
        } catch {
            seen.failures[.agentAlive] = "\(error)"
            return seen
        }
        guard let list = (try? JSONSerialization.jsonObject(with: Data(processes.body.utf8))) as? [[String: Any]] else {
            seen.failures[.agentAlive] = "/api/v1/processes: \(processes.status) \(processes.body.prefix(200))"
            return seen
        }
        for row in list {
            guard let id = row["id"] as? String else { continue }
            seen.api[id] = (row["state"] as? String ?? "?", (row["pid"] as? Int).map(Int32.init))
        }
        seen.metricsText = metrics.body
        seen.proc = ChaosProcTable.read(marker: marker)
        let proc = seen.proc
        let runningPIDs = Set(seen.api.values.compactMap { $0.state == "running" ? $0.pid : nil })

        // all-running
        let notRunning = desired.filter { id in
            guard let row = seen.api[id], row.state == "running", let pid = row.pid else { return true }
            return !proc.isAlive(pid)
        }
        let unexpected = Set(seen.api.keys).subtracting(desired)
        if !notRunning.isEmpty || !unexpected.isEmpty {
            seen.failures[.allRunning] = "not running: \(notRunning.sorted().map { "\($0)=\(seen.api[$0].map { "\($0.state)/\($0.pid.map(String.init) ?? "-")" } ?? "absent")" }); not desired but listed: \(unexpected.sorted())"
        }

        // api-matches-metrics
        var apiCounts: [String: Int] = [:]
        for row in seen.api.values { apiCounts[row.state, default: 0] += 1 }
        var mismatches: [String] = []
        for state in ["starting", "running", "terminating", "terminated", "finished"] {
            let metric = sample(#"procmgr_processes{state="\#(state)"}"#, in: metrics.body).map { Int($0) }
            if metric != apiCounts[state, default: 0] {
                mismatches.append("\(state): api \(apiCounts[state, default: 0]), metrics \(metric.map(String.init) ?? "absent")")
            }
        }
        if !mismatches.isEmpty { seen.failures[.apiMatchesMetrics] = mismatches.joined(separator: "; ") }

        // api-matches-proc
        let leaders = Set(proc.liveMarked.filter { $0.pid == $0.pgid && $0.pid != agent.pid && $0.comm != "procmgr-guard" }.map(\.pid))
        let notLeaders = runningPIDs.filter { pid in proc.entries[pid].map { $0.pgid != pid || $0.isZombie } ?? true }
        if leaders != runningPIDs || !notLeaders.isEmpty {
            seen.failures[.apiMatchesProc] = "api running pids \(runningPIDs.sorted()), marked group leaders in /proc \(leaders.sorted()), running pids that are not live group leaders \(notLeaders.sorted())"
        }

        // no-orphan
        let orphans = proc.liveMarked.filter { entry in
            entry.pid != agent.pid && !(entry.comm == "procmgr-guard" && entry.ppid == agent.pid) && !runningPIDs.contains(entry.pgid)
        }
        if !orphans.isEmpty {
            seen.failures[.noOrphan] = orphans.map { "\($0.pid) (\($0.comm), ppid \($0.ppid), pgid \($0.pgid))" }.joined(separator: ", ")
        }

        // no-zombie
        let zombies = proc.children(of: agent.pid).filter(\.isZombie)
        if !zombies.isEmpty { seen.failures[.noZombie] = zombies.map { "\($0.pid) (\($0.comm))" }.joined(separator: ", ") }

        // no-stale-series
        let stale = processLabels(in: metrics.body).subtracting(desired)
        if !stale.isEmpty {
            let lines = metrics.body.split(separator: "\n").filter { line in
                !line.hasPrefix("#") && stale.contains { line.contains(#"process="\#($0)""#) }
            }
            seen.failures[.noStaleSeries] = "series for \(stale.sorted()): \(lines.prefix(4).joined(separator: " | "))"
        }

        // guardian-alive
        if killMode && !proc.children(of: agent.pid).contains(where: { $0.comm == "procmgr-guard" && !$0.isZombie }) {
            seen.failures[.guardianAlive] = "no live procmgr-guard child of agent \(agent.pid)"
        }
        return seen
    }

    static func sample(_ series: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// Every value of a `process="…"` label in the exposition (empty values aside: the agent's
    /// own errors carry `process=""`).
    static func processLabels(in text: String) -> Set<String> {
        var labels = Set<String>()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let range = line.range(of: #"process=""#) else { continue }
            let value = line[range.upperBound...].prefix { $0 != "\"" }
            if !value.isEmpty { labels.insert(String(value)) }
        }
        return labels
    }
}
