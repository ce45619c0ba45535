import Foundation
import Glibc
import ProcmgrEtcd
import ProcmgrTestKit
import Testing

/// Real `procmgr run` agents on a real etcd (SPEC §3.6, issue 13): desired state by node and for
/// all nodes, registration under a lease, status write-back, discovery, and what survives a
/// dead member, a dead cluster and a compaction.
@Suite(.timeLimit(.minutes(4)))
struct FleetAgentTests {
    @Test("put → the right node runs it; all → every node; delete → terminated; status, registration, targets, revoke and expiry")
    func desiredStateAcrossNodes() async throws {
        let bed = try await FleetTestBed.start()
        defer { bed.tearDown() }
        let (cluster, directory, etcd) = (bed.cluster, bed.directory, bed.etcd)
        let prefix = "/fleet-a"
        let one = try await FleetAgentSetup(directory: directory, node: "n1", prefix: prefix, endpoints: cluster.clientURLs).start()
        defer { Task { await one.kill() } }
        let two = try await FleetAgentSetup(directory: directory, node: "n2", prefix: prefix, endpoints: cluster.clientURLs).start()
        defer { Task { await two.kill() } }
        try await eventually("both agents registered", timeout: .seconds(20)) {
            try await etcd.texts(under: "\(prefix)/agents/").count == 2
        }

        // A node's key runs on that node only; an `all` key on both.
        try await etcd.putProcess("\(prefix)/nodes/n1/processes/only-one", sleeper())
        try await etcd.putProcess("\(prefix)/all/processes/everywhere", sleeper())
        let onOne = try await one.waitForProcesses("n1 runs only-one and everywhere") { runningPIDs($0).count == 2 }
        #expect(Set(runningPIDs(onOne).keys) == ["only-one", "everywhere"])
        let onTwo = try await two.waitForProcesses("n2 runs everywhere") { runningPIDs($0)["everywhere"] != nil }
        #expect(onTwo["only-one"] == nil)

        // Status write-back: one key per process with what the API shows.
        let pid = runningPIDs(onOne)["only-one"]
        try await eventually("n1's status keys say running with the API's pid", timeout: .seconds(10)) {
            let status = try await etcd.texts(under: "\(prefix)/status/n1/")
            guard let text = status["\(prefix)/status/n1/only-one"],
                  let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return false }
            return status.count == 2 && object["state"] as? String == "running" && object["pid"] as? Int == pid
        }

        // Discovery: either agent answers with both.
        let targets = try await two.request("/api/v1/fleet/targets")
        #expect(targets.status == 200)
        let groups = try #require(try targets.json() as? [[String: Any]])
        #expect(Set(groups.compactMap { ($0["labels"] as? [String: String])?["node"] }) == ["n1", "n2"])
        let oneURL = try #require(URL(string: one.baseURL))
        #expect(groups.contains { ($0["targets"] as? [String]) == ["127.0.0.1:\(oneURL.port ?? 0)"] })

        // `procmgr fleet status` reads the same keys from etcd, no agent involved.
        let endpoints = cluster.clientURLs.map(\.absoluteString).joined(separator: ",")
        let table = try await ClientCommand.run(["fleet", "status", "--etcd", endpoints, "--prefix", prefix])
        #expect(table.status == .exited(code: 0), "\(table)")
        #expect(table.stdout.contains { $0.hasPrefix("NODE n1  \(one.baseURL)") }, "\(table)")
        #expect(table.stdout.contains { $0.contains("only-one") && $0.contains("running") && $0.contains("\(pid ?? -1)") }, "\(table)")
        let onlyTwo = try await ClientCommand.run(["fleet", "status", "--etcd", endpoints, "--prefix", prefix, "--node", "n2", "--json"])
        let nodes = try #require(try JSONSerialization.jsonObject(with: Data(onlyTwo.stdout.joined(separator: "\n").utf8)) as? [[String: Any]])
        #expect(nodes.map { $0["node"] as? String } == ["n2"])
        #expect((nodes.first?["processes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["everywhere"])
        let unreachable = try await ClientCommand.run(["fleet", "status", "--etcd", "http://127.0.0.1:1"])
        #expect(unreachable.status == .exited(code: 3), "\(unreachable)")

        // An invalid key is rejected alone; the rest keeps running.
        try await etcd.putProcess("\(prefix)/nodes/n1/processes/broken", #"{"command": "not a list"#)
        try await eventually("n1 counts one rejected key", timeout: .seconds(10)) {
            try await one.metric("procmgr_fleet_rejected_keys") == 1
        }
        #expect(runningPIDs(try await one.processes())["only-one"] == pid)

        // Delete → terminated on every node, and its status key goes.
        try await etcd.delete(key: "\(prefix)/all/processes/everywhere")
        try await one.waitForProcesses("everywhere gone from n1", timeout: .seconds(10)) { $0["everywhere"] == nil }
        try await two.waitForProcesses("everywhere gone from n2", timeout: .seconds(10)) { $0["everywhere"] == nil }
        try await eventually("everywhere's status keys deleted", timeout: .seconds(10)) {
            try await etcd.texts(under: "\(prefix)/status/").keys.allSatisfy { !$0.hasSuffix("/everywhere") }
        }

        // SIGTERM revokes the lease: n1's registration and status go at once (not at expiry).
        one.signal(SIGTERM)
        #expect(try await one.waitForExit() == .exited(code: 0))
        #expect(try await etcd.texts(under: "\(prefix)/agents/n1").isEmpty)
        #expect(try await etcd.texts(under: "\(prefix)/status/n1/").isEmpty)

        // SIGKILL: n2's keys vanish at lease expiry (3 s), and its processes with the agent.
        try await two.waitForProcesses("n2 has no process left") { $0.isEmpty }
        try await etcd.putProcess("\(prefix)/nodes/n2/processes/orphan-check", sleeper())
        let orphan = try #require(runningPIDs(try await two.waitForProcesses("n2 runs orphan-check") { runningPIDs($0)["orphan-check"] != nil })["orphan-check"])
        try await eventually("n2's status key written", timeout: .seconds(10)) {
            try await etcd.texts(under: "\(prefix)/status/n2/").count == 1
        }
        Glibc.kill(two.pid, SIGKILL)
        _ = try await two.waitForExit()
        let killedAt = ContinuousClock.now
        try await eventually("n2's registration and status keys expire with its lease", timeout: .seconds(10)) {
            let agents = try await etcd.texts(under: "\(prefix)/agents/")
            let status = try await etcd.texts(under: "\(prefix)/status/")
            return agents.isEmpty && status.isEmpty
        }
        #expect(ContinuousClock.now - killedAt <= .seconds(3) + .seconds(5), "the keys outlived the 3 s lease by more than etcd's expiry sweep and a loaded machine explain")
        try await eventually("n2's process died with its agent", timeout: .seconds(10)) { !processExists(Int32(orphan)) }
    }

    @Test("a second agent for the same node refuses to start, naming the holder; the first keeps running")
    func sameNodeTwice() async throws {
        let bed = try await FleetTestBed.start()
        defer { bed.tearDown() }
        let (cluster, directory, etcd) = (bed.cluster, bed.directory, bed.etcd)
        let prefix = "/fleet-b"
        try await etcd.putProcess("\(prefix)/nodes/same/processes/work", sleeper())
        let first = try await FleetAgentSetup(directory: directory + "/a", node: "same", prefix: prefix, endpoints: cluster.clientURLs).start()
        defer { Task { await first.kill() } }
        let running = try await first.waitForProcesses("the first agent runs work") { runningPIDs($0)["work"] != nil }

        let second = try await FleetAgentSetup(directory: directory + "/b", node: "same", prefix: prefix, endpoints: cluster.clientURLs).start()
        defer { Task { await second.kill() } }
        let status = try await second.waitForExit(timeout: .seconds(30))
        #expect(status != .exited(code: 0))
        #expect(second.output.contains { $0.contains("node same is already registered") && $0.contains(first.baseURL) })
        #expect(runningPIDs(try await first.processes()) == runningPIDs(running))
    }

    @Test("the whole cluster down for 30 s: processes untouched, the watch resumes after it returns, nothing restarts")
    func clusterOutage() async throws {
        let bed = try await FleetTestBed.start()
        defer { bed.tearDown() }
        let (cluster, directory, etcd) = (bed.cluster, bed.directory, bed.etcd)
        let prefix = "/fleet-c"
        for id in ["a", "b"] { try await etcd.putProcess("\(prefix)/nodes/o1/processes/\(id)", sleeper()) }
        let agent = try await FleetAgentSetup(directory: directory, node: "o1", prefix: prefix, endpoints: cluster.clientURLs).start()
        defer { Task { await agent.kill() } }
        let before = runningPIDs(try await agent.waitForProcesses("a and b running") { runningPIDs($0).count == 2 })

        await cluster.kill(member: 0)
        try await eventually("the agent sees etcd gone", timeout: .seconds(10)) {
            try await agent.metric("procmgr_fleet_connected") == 0
        }
        let downSince = ContinuousClock.now
        // Thirty seconds without etcd: keep checking that nothing moves.
        while ContinuousClock.now - downSince < .seconds(30) {
            let now = try await agent.processes()
            #expect(runningPIDs(now) == before)
            #expect(now.values.allSatisfy { ($0["restarts"] as? Int) == 0 })
            try await Task.sleep(for: .seconds(1))  // pacing of the check, not synchronisation
        }
        try await cluster.restart(member: 0)
        try await eventually("the watch resumed", timeout: .seconds(15)) {
            try await agent.metric("procmgr_fleet_connected") == 1
        }
        try await etcd.putProcess("\(prefix)/nodes/o1/processes/c", sleeper())
        let after = try await agent.waitForProcesses("c applied after the outage", timeout: .seconds(10)) { runningPIDs($0)["c"] != nil }
        #expect(runningPIDs(after)["a"] == before["a"])
        #expect(runningPIDs(after)["b"] == before["b"])
        // The agent re-registered (its lease expired during the outage) and its status is back.
        try await eventually("registration and status back", timeout: .seconds(15)) {
            let agents = try await etcd.texts(under: "\(prefix)/agents/")
            let status = try await etcd.texts(under: "\(prefix)/status/o1/")
            return agents.count == 1 && status.count == 3
        }
    }

    @Test("an agent started while etcd is down runs its cached state, then registers and follows etcd once it is back")
    func startFromCache() async throws {
        let bed = try await FleetTestBed.start()
        defer { bed.tearDown() }
        let (cluster, directory, etcd) = (bed.cluster, bed.directory, bed.etcd)
        let prefix = "/fleet-f"
        try await etcd.putProcess("\(prefix)/nodes/c1/processes/cached", sleeper())
        let setup = FleetAgentSetup(directory: directory, node: "c1", prefix: prefix, endpoints: cluster.clientURLs)
        let first = try await setup.start()
        defer { Task { await first.kill() } }
        try await first.waitForProcesses("cached running") { runningPIDs($0)["cached"] != nil }
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == .exited(code: 0))

        await cluster.kill(member: 0)
        let second = try await setup.start()
        defer { Task { await second.kill() } }
        try await second.waitForProcesses("cached running from the cache while etcd is down") { runningPIDs($0)["cached"] != nil }
        #expect(try await second.request("/readyz").status == 200)
        #expect(try await second.metric("procmgr_fleet_registered") == 0)
        #expect(second.output.contains { $0.contains("starting from the cached fleet state") })

        try await cluster.restart(member: 0)
        try await eventually("registered once etcd is back", timeout: .seconds(15)) {
            try await second.metric("procmgr_fleet_registered") == 1
        }
        try await etcd.putProcess("\(prefix)/nodes/c1/processes/fresh", sleeper())
        try await second.waitForProcesses("fresh applied", timeout: .seconds(10)) { runningPIDs($0)["fresh"] != nil }
    }

    @Test("three members: one killed, agents keep working; a compaction past a cut-off agent's revision → full re-read, only changes applied")
    func memberLossAndCompaction() async throws {
        let cluster = try await EtcdTestCluster.start(members: 3)
        defer { Task { await cluster.stop() } }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let urls = cluster.clientURLs
        let etcd = makeTestEtcdClient(Array(urls[1...]))
        defer { Task { await etcd.shutdown() } }
        let prefix = "/fleet-d"
        try await etcd.putProcess("\(prefix)/all/processes/keep", sleeper())
        try await etcd.putProcess("\(prefix)/all/processes/gone", sleeper())
        // x knows every member; y only the first, so killing it cuts y off.
        let x = try await FleetAgentSetup(directory: directory, node: "x", prefix: prefix, endpoints: urls).start()
        defer { Task { await x.kill() } }
        let y = try await FleetAgentSetup(directory: directory, node: "y", prefix: prefix, endpoints: [urls[0]]).start()
        defer { Task { await y.kill() } }
        let xBefore = runningPIDs(try await x.waitForProcesses("x runs keep and gone") { runningPIDs($0).count == 2 })
        let yBefore = runningPIDs(try await y.waitForProcesses("y runs keep and gone") { runningPIDs($0).count == 2 })

        await cluster.kill(member: 0)
        try await etcd.putProcess("\(prefix)/nodes/x/processes/after-failover", sleeper())
        let xAfter = try await x.waitForProcesses("x applies a put after its member died", timeout: .seconds(10)) {
            runningPIDs($0)["after-failover"] != nil
        }
        #expect(runningPIDs(xAfter)["keep"] == xBefore["keep"])

        // While y is cut off: a change for y, then a compaction past everything y saw.
        try await etcd.putProcess("\(prefix)/nodes/y/processes/added", sleeper())
        try await etcd.delete(key: "\(prefix)/all/processes/gone")
        let revision = try await etcd.put(key: "\(prefix)/marker", value: Array("m".utf8))
        try await etcd.compact(revision: revision)
        try await cluster.restart(member: 0)
        let yAfter = try await y.waitForProcesses("y re-read: added runs, gone terminated", timeout: .seconds(20)) { processes in
            runningPIDs(processes)["added"] != nil && processes["gone"] == nil
        }
        #expect(runningPIDs(yAfter)["keep"] == yBefore["keep"], "an unchanged process is not restarted by the re-read")
        #expect(try await y.metric(#"procmgr_fleet_resyncs_total{reason="compacted"}"#).map { $0 >= 1 } == true)
        try await x.waitForProcesses("x terminated gone too", timeout: .seconds(10)) { $0["gone"] == nil }
    }

    @Test("Prometheus with http_sd_configs pointing at one agent discovers and scrapes all three")
    func prometheusDiscovery() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: PrometheusAgentTests.binary))
        let cluster = try await EtcdTestCluster.start(members: 1)
        defer { Task { await cluster.stop() } }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prefix = "/fleet-e"
        var agents: [AgentProcess] = []
        defer { for agent in agents { Task { await agent.kill() } } }
        for node in ["p1", "p2", "p3"] {
            agents.append(try await FleetAgentSetup(directory: directory, node: node, prefix: prefix, endpoints: cluster.clientURLs).start())
        }
        try await eventually("all three registered and seen by p1", timeout: .seconds(20)) {
            let reply = try await agents[0].request("/api/v1/fleet/targets")
            let list = try reply.json() as? [Any]
            return reply.status == 200 && list?.count == 3
        }
        let first = try #require(URL(string: agents[0].baseURL))
        let prometheus = try await LocalPrometheus.start(
            directory: directory + "/prometheus", scrapeTarget: "127.0.0.1:1",
            extraConfig: """
              - job_name: fleet
                http_sd_configs:
                  - url: http://127.0.0.1:\(first.port ?? 0)/api/v1/fleet/targets
                    refresh_interval: 1s
            """)
        defer { Task { await prometheus.stop() } }
        _ = try await prometheus.waitForValue(#"count(up{job="fleet"} == 1)"#) { $0 == 3 }
        _ = try await prometheus.waitForValue(#"count(count by (node) (procmgr_fleet_registered{job="fleet"} == 1))"#) { $0 == 3 }
    }
}
