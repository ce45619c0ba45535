import Foundation
import Testing

/// The dashboard imports as is: structure Grafana relies on, and PromQL that Prometheus parses.
@Suite("Grafana dashboard", .timeLimit(.minutes(2)))
struct DashboardTests {
    static let datasourceUID = "${datasource}"

    @Test("stable uid and the datasource, job, instance and process variables")
    func variables() throws {
        let dashboard = try Dashboard.load()
        #expect(dashboard.json["uid"] as? String == "procmgr-overview")
        let variables = Dictionary(dashboard.variables.compactMap { v in (v["name"] as? String).map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
        #expect(variables["datasource"]?["type"] as? String == "datasource")
        #expect(variables["datasource"]?["query"] as? String == "prometheus")
        for name in ["job", "instance", "process"] {
            let variable = try #require(variables[name], "no \(name) variable")
            #expect(variable["type"] as? String == "query")
            #expect(Self.datasourceUID(variable["datasource"]) == Self.datasourceUID, "\(name) variable does not use $datasource")
        }
    }

    @Test("unique panel ids, grid positions inside 24 columns that never overlap")
    func layout() throws {
        let panels = try Dashboard.load().panels
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count, "a panel without an integer id")
        #expect(Set(ids).count == ids.count, "duplicate panel ids")
        var occupied: [(id: Int, x: Int, y: Int, w: Int, h: Int)] = []
        for panel in panels {
            let id = panel["id"] as? Int ?? -1
            let grid = try #require(panel["gridPos"] as? [String: Int], "panel \(id) has no gridPos")
            let (x, y, w, h) = (grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
            #expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24, "panel \(id): bad gridPos \(grid)")
            for other in occupied where x < other.x + other.w && other.x < x + w && y < other.y + other.h && other.y < y + h {
                Issue.record("panels \(other.id) and \(id) overlap")
            }
            occupied.append((id, x, y, w, h))
        }
    }

    @Test("every panel and target uses the datasource variable; every panel has a unit and a description")
    func panelsAndTargets() throws {
        let dashboard = try Dashboard.load()
        for panel in dashboard.panels {
            let id = panel["id"] as? Int ?? -1
            #expect(Self.datasourceUID(panel["datasource"]) == Self.datasourceUID, "panel \(id) does not use $datasource")
            guard panel["type"] as? String != "row" else { continue }
            let defaults = (panel["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any]
            let unit = defaults?["unit"] as? String ?? ""
            let description = panel["description"] as? String ?? ""
            #expect(!unit.isEmpty, "panel \(id) has no unit")
            #expect(!description.isEmpty, "panel \(id) has no description")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "panel \(id) has no query")
            for target in targets {
                #expect(Self.datasourceUID(target["datasource"]) == Self.datasourceUID, "panel \(id) target \(target["refId"] ?? "?") does not use $datasource")
                let expression = target["expr"] as? String ?? ""
                if expression.contains("rate(") || expression.contains("increase(") {
                    #expect(expression.contains("[$__rate_interval]") || expression.contains("[1h]"),
                            "panel \(id): rates use $__rate_interval: \(expression)")
                }
            }
            if panel["type"] as? String == "heatmap" {
                #expect(targets.allSatisfy { $0["format"] as? String == "heatmap" }, "heatmap \(id) needs format: heatmap")
            }
        }
        let kinds = Set(dashboard.panels.compactMap { $0["type"] as? String })
        #expect(kinds.isSuperset(of: ["heatmap", "table", "timeseries", "stat", "row"]))
    }

    @Test("the stuck-termination table shows process, elapsed and grace period")
    func terminationTable() throws {
        let table = try #require(try Dashboard.load().panels.first { $0["title"] as? String == "Terminations in progress" })
        #expect(table["type"] as? String == "table")
        let expressions = (table["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        #expect(expressions.contains { $0.hasPrefix("time() - procmgr_process_terminating_since_seconds") })
        #expect(expressions.contains { $0.hasPrefix("procmgr_process_grace_period_seconds") })
    }

    @Test("every PromQL expression parses (promtool check rules, variables substituted)")
    func expressionsParse() async throws {
        let directory = try TemporaryDirectory("procmgr-dashboard-rules")
        defer { directory.remove() }
        let targets = try Dashboard.load().targets
        try #require(!targets.isEmpty)
        let rules: [[String: String]] = targets.map {
            ["record": "dashboard:panel_\($0.panelID)_\($0.refID)", "expr": Dashboard.substitute($0.expression, rateInterval: "1m")]
        }
        let file = directory.file("dashboard.rules.json")
        try JSONSerialization.data(withJSONObject: ["groups": [["name": "dashboard", "rules": rules]]], options: [.withoutEscapingSlashes]).write(to: file)
        let (status, output) = try await runTool(try Tools.require(Tools.promtool), ["check", "rules", file.path])
        #expect(status == 0, "a dashboard query does not parse:\n\(output)")
        #expect(output.contains("SUCCESS: \(rules.count) rules found"), "\(output)")
    }

    static func datasourceUID(_ value: Any?) -> String? {
        (value as? [String: Any])?["uid"] as? String
    }
}
