import Foundation
import Testing

/// The shipped rule file loads in Prometheus 2.42, its unit tests pass, and every alert carries
/// what an on-call engineer needs.
@Suite("Alert rules", .timeLimit(.minutes(2)))
struct RuleFileTests {
    static let requiredAlerts = [
        "ProcmgrTerminationStuck", "ProcmgrProcessCrashLooping", "ProcmgrProcessUnhealthy",
        "ProcmgrHeartbeatLatencyHigh", "ProcmgrHeartbeatsMissing", "ProcmgrSyncErrors",
        "ProcmgrWorkQueueBacklog", "ProcmgrConfigReloadFailed", "ProcmgrAgentDown",
        "ProcmgrDependencyBlocked", "ProcmgrJobFailed", "ProcmgrJobNotSucceededRecently", "ProcmgrNotReady",
        "ProcmgrProcessOOMKilled", "ProcmgrProcessMemoryNearLimit", "ProcmgrProcessCPUThrottled", "ProcmgrCgroupsUnavailable",
        "ProcmgrFleetSourceDown", "ProcmgrAgentRegistrationLost", "ProcmgrFleetKeysRejected",
        "ProcmgrSpawnsPaused", "ProcmgrDescriptorsNearLimit",
    ]

    @Test("promtool check rules accepts the rule file")
    func checkRules() async throws {
        let (status, output) = try await runTool(try Tools.require(Tools.promtool), ["check", "rules", Repository.rules.path])
        #expect(status == 0, "promtool check rules failed:\n\(output)")
        #expect(output.contains("SUCCESS"), "\(output)")
    }

    @Test("promtool test rules passes every unit test file")
    func testRules() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Repository.ruleTests.path)
            .filter { $0.hasSuffix(".json") }.sorted()
            .map { Repository.ruleTests.appendingPathComponent($0).path }
        try #require(!files.isEmpty, "no rule unit tests in alerts/tests")
        let (status, output) = try await runTool(try Tools.require(Tools.promtool), ["test", "rules"] + files)
        #expect(status == 0, "promtool test rules failed:\n\(output)")
        #expect(output.components(separatedBy: "SUCCESS").count - 1 == files.count, "\(output)")
    }

    @Test("every required alert is tested: one case that fires and one that does not")
    func everyAlertTested() throws {
        var firing: Set<String> = []
        var quiet: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: Repository.ruleTests.path) where name.hasSuffix(".json") {
            let document = try Repository.json(Repository.ruleTests.appendingPathComponent(name))
            for group in document["tests"] as? [[String: Any]] ?? [] {
                #expect(group["interval"] != nil, "\(name): a test group without interval (Prometheus 2.42 needs it)")
                for test in group["alert_rule_test"] as? [[String: Any]] ?? [] {
                    guard let alert = test["alertname"] as? String else { continue }
                    let expected = test["exp_alerts"] as? [[String: Any]] ?? []
                    if expected.isEmpty { quiet.insert(alert) } else { firing.insert(alert) }
                    for case let annotations as [String: String] in expected.map({ $0["exp_annotations"] }) {
                        #expect(annotations["summary"] != nil && annotations["description"] != nil && annotations["runbook_url"] != nil,
                                "\(name): \(alert) expectations must pin every annotation")
                    }
                }
            }
        }
        for alert in Self.requiredAlerts {
            #expect(firing.contains(alert), "no test case where \(alert) fires")
            #expect(quiet.contains(alert), "no test case just short of \(alert) firing")
        }
    }

    @Test("every alert has for, severity, summary, description and a runbook section")
    func alertMetadata() throws {
        let file = try RuleFile.load()
        let runbook = try String(contentsOf: Repository.runbook, encoding: .utf8)
        let anchors = Set(runbook.split(separator: "\n").filter { $0.hasPrefix("## ") }.map {
            $0.dropFirst(3).lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        })
        for group in file.groups {
            #expect(group["labels"] == nil, "group \(group["name"] ?? "?") has labels: Prometheus 2.42 rejects them")
        }
        let names = file.alerts.compactMap { $0["alert"] as? String }
        #expect(Set(Self.requiredAlerts).isSubset(of: Set(names)), "missing: \(Set(Self.requiredAlerts).subtracting(names))")
        #expect(Set(names).count == names.count, "duplicate alert names")
        for alert in file.alerts {
            let name = alert["alert"] as? String ?? "?"
            let labels = alert["labels"] as? [String: String] ?? [:]
            let annotations = alert["annotations"] as? [String: String] ?? [:]
            #expect(alert["for"] is String, "\(name): no for")
            #expect(["page", "warning"].contains(labels["severity"] ?? ""), "\(name): severity \(labels["severity"] ?? "none")")
            #expect(!(annotations["summary"] ?? "").isEmpty, "\(name): no summary")
            let description = annotations["description"] ?? ""
            #expect(description.contains("$labels.process") || description.contains("$labels.instance"),
                    "\(name): the description must name the process (or the agent for agent-wide alerts)")
            let runbookURL = annotations["runbook_url"] ?? ""
            #expect(runbookURL.hasPrefix("docs/runbook.md#"), "\(name): runbook_url \(runbookURL)")
            let anchor = runbookURL.split(separator: "#").last.map(String.init) ?? ""
            #expect(anchors.contains(anchor), "\(name): docs/runbook.md has no section for #\(anchor)")
        }
        #expect(file.alerts.first { $0["alert"] as? String == "ProcmgrTerminationStuck" }
            .flatMap { ($0["labels"] as? [String: String])?["severity"] } == "page")
    }
}
