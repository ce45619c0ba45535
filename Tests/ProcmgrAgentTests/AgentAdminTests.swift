import Foundation
import Glibc
import ProcmgrTestKit
import Testing

/// `procmgr run` with `agent.admin`: the process list comes from a real local HTTP service, local
/// entries override it field by field, a change at the service is applied at the next poll, an
/// outage keeps everything running, and a restarted agent starts from the cached last good list.
@Suite(.timeLimit(.minutes(3)))
struct AgentAdminTests {
    static func body(_ ids: [String]) -> String {
        #"{"processes": ["# + ids.map { #"{"id": "\#($0)", "command": ["sleep", "600"], "env": {"FROM": "admin"}}"# }.joined(separator: ", ") + "]}"
    }

    @Test("admin source: start, change within one poll, outage keeps running, restart from cache")
    func adminLifecycle() async throws {
        try await withFakeAdminService { service in
            let directory = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let file = directory + "/procmgr.yaml"
            try """
            agent:
              state_dir: \(directory)/state
              admin: { url: "\(service.url.absoluteString)", poll_interval: 200ms, cache_file: \(directory)/admin-cache.json }
            processes:
              - id: svc-1
                env: { FROM: local }
            """.write(toFile: file, atomically: true, encoding: .utf8)
            service.serve(.json(Self.body(["svc-1", "svc-2"]), etag: "\"v1\""))

            let agent = try await AgentProcess.start(["--config", file])
            defer { Task { await agent.kill() } }
            let first = runningPIDs(try await agent.waitForProcesses("svc-1 and svc-2 running") { runningPIDs($0).count == 2 })
            #expect(Set(first.keys) == ["svc-1", "svc-2"])
            #expect(try await agent.request("/readyz").status == 200)
            #expect(FileManager.default.fileExists(atPath: directory + "/admin-cache.json"))

            // A change at the service: svc-3 added, svc-2 removed, svc-1 untouched.
            service.serve(.json(Self.body(["svc-1", "svc-3"]), etag: "\"v2\""))
            let second = runningPIDs(try await agent.waitForProcesses("svc-3 running, svc-2 gone", timeout: .seconds(5)) { processes in
                runningPIDs(processes)["svc-3"] != nil && processes["svc-2"] == nil
            })
            #expect(second["svc-1"] == first["svc-1"])

            // An outage: polls fail, nothing changes.
            let answeredBefore = service.requests.count
            service.serve(.status(503))
            try await eventually("two failed polls", timeout: .seconds(10)) { service.requests.count >= answeredBefore + 2 }
            #expect(runningPIDs(try await agent.processes()) == second)
            #expect(try await agent.metric(#"procmgr_admin_fetches_total{result="error"}"#).map { $0 >= 2 } == true)

            // A restart during the outage starts from the cached last good list.
            agent.signal(SIGTERM)
            #expect(try await agent.waitForExit() == .exited(code: 0))
            let restarted = try await AgentProcess.start(["--config", file])
            defer { Task { await restarted.kill() } }
            let fromCache = try await restarted.waitForProcesses("svc-1 and svc-3 running from the cache") { runningPIDs($0).count == 2 }
            #expect(Set(runningPIDs(fromCache).keys) == ["svc-1", "svc-3"])
            restarted.signal(SIGTERM)
            #expect(try await restarted.waitForExit() == .exited(code: 0))
        }
    }
}
