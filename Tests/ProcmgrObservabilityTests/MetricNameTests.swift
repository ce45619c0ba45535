@testable import ProcmgrAgent
import Logging
@testable import ProcmgrEngine
@testable import ProcmgrHTTP
import ProcmgrMetrics
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// A rename in the agent breaks the build: every metric the dashboard and the rules read must be
/// a family of the agent's real exposition.
@Suite("Metric names used by the dashboard and the rules")
struct MetricNameTests {
    /// Series Prometheus itself adds to every scrape.
    static let synthetic: Set<String> = ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"]

    /// Family name → type, from the exposition of a registry filled by the real registrars.
    static func agentFamilies() throws -> [String: String] {
        let registry = MetricsRegistry()
        _ = try ProcessManager(syncer: ScriptedSyncer(), registry: registry)
        _ = try RuntimeMetrics(registry: registry)
        _ = try HTTPMetrics(registry: registry)
        _ = try AgentMetrics(registry: registry, version: ProcmgrVersion.current)
        _ = try JobMetrics(registry: registry)
        _ = try FleetMetrics(registry: registry)
        let dependencies = try DependencyCoordinator(
            source: NoFacts(), registry: registry, logger: Logger(label: "metric-names")) { _ in }
        try ProcessSelfMetrics.register(in: registry)
        var families: [String: String] = [:]
        for line in registry.exposition().split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            if parts.count == 4 { families[String(parts[2])] = String(parts[3]) }
        }
        withExtendedLifetime(dependencies) {}
        return families
    }

    /// A coordinator only registers its family here; no process is ever asked about.
    private struct NoFacts: ConditionSource {
        func facts(of id: String) -> DependencyFacts? { nil }
    }

    /// Whether `name` is a family of the exposition, or a histogram's `_bucket/_sum/_count` series.
    static func exists(_ name: String, in families: [String: String]) -> Bool {
        if families[name] != nil { return true }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            if families[String(name.dropLast(suffix.count))] == "histogram" { return true }
        }
        return false
    }

    @Test("the lexer finds metric names and nothing else")
    func lexer() {
        let names = PromQL.metricNames(in: #"histogram_quantile(0.99, sum by (process, le) (rate(a_bucket{job=~"$job", x="b{c}"}[5m]))) / on(job) group_left(instance) b > bool 1e-9 or vector(0) and rec:x:rate5m offset 5m"#)
        #expect(names == ["a_bucket", "b", "rec:x:rate5m"])
    }

    @Test("the health probe panel reads procmgr_health_checks_total with the runtime's result values")
    func healthProbePanel() throws {
        let targets = try Dashboard.load().targets.filter { $0.panelTitle == "Health probe failures" }
        #expect(targets.count == 1)
        for target in targets {
            #expect(PromQL.metricNames(in: target.expression) == ["procmgr_health_checks_total"])
            // The panel drops successes by value; a renamed value would silently count them as failures.
            #expect(target.expression.contains(#"result!="success""#))
        }
        #expect(Set(RuntimeMetrics.healthResults) == ["success", "failure", "timeout"], "SPEC §3.4's result values changed: update the panel")
    }

    @Test("every metric in the dashboard and the rules is in the agent's exposition")
    func namesExist() throws {
        let families = try Self.agentFamilies()
        // The registrars really ran: a sample of each.
        for name in ["procmgr_processes", "procmgr_restarts_total", "procmgr_health_checks_total", "procmgr_metrics_scrape_bytes", "procmgr_build_info", "process_open_fds"] {
            #expect(families[name] != nil, "\(name) missing from the rendered exposition")
        }
        let rules = try RuleFile.load()
        let recorded = rules.recordedNames
        var used: [(name: String, whereUsed: String)] = []
        for target in try Dashboard.load().targets {
            used += PromQL.metricNames(in: target.expression).map { ($0, "dashboard panel \(target.panelID) “\(target.panelTitle)” \(target.refID)") }
        }
        for variable in try Dashboard.load().variables {
            let query = (variable["query"] as? [String: Any])?["query"] as? String ?? ""
            guard let open = query.range(of: "label_values("), let comma = query.range(of: ",", options: .backwards) else { continue }
            used += PromQL.metricNames(in: String(query[open.upperBound..<comma.lowerBound])).map { ($0, "variable \(variable["name"] ?? "?")") }
        }
        for rule in rules.rules {
            let name = rule["alert"] as? String ?? rule["record"] as? String ?? "?"
            used += PromQL.metricNames(in: rule["expr"] as? String ?? "").map { ($0, "rule \(name)") }
        }
        #expect(used.count > 50, "suspiciously few names found: \(used.count)")
        for (name, whereUsed) in used {
            if name.contains(":") {
                #expect(recorded.contains(name), "\(whereUsed) reads \(name), which no recording rule defines")
                continue
            }
            guard !Self.synthetic.contains(name) else { continue }
            #expect(Self.exists(name, in: families), "\(whereUsed) reads \(name), which the agent does not export")
        }
    }
}
