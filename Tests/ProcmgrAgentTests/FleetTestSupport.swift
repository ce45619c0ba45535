import Foundation
import Glibc
import Logging
import ProcmgrEtcd
import ProcmgrTestKit
import Testing

/// A fleet agent for the tests: `procmgr run` with `agent.etcd` pointing at a test cluster, its
/// own state directory and node name.
struct FleetAgentSetup {
    let directory: String
    let node: String
    let prefix: String
    let endpoints: [URL]
    var leaseTTL = "3s"
    var localProcesses = ""

    var configPath: String { directory + "/\(node).yaml" }

    func write() throws {
        try FileManager.default.createDirectory(atPath: directory + "/\(node)-state", withIntermediateDirectories: true)
        let list = endpoints.map { "\"\($0.absoluteString)\"" }.joined(separator: ", ")
        try """
        agent:
          state_dir: \(directory)/\(node)-state
          shutdown_grace_period: 5s
          etcd:
            endpoints: [\(list)]
            prefix: \(prefix)
            node: \(node)
            lease_ttl: \(leaseTTL)
        \(localProcesses.isEmpty ? "processes: []" : "processes:\n" + localProcesses)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func start() async throws -> AgentProcess {
        try write()
        return try await AgentProcess.start(["--config", configPath])
    }
}

/// What every fleet test starts with: a cluster, a scratch directory, a client on the cluster.
struct FleetTestBed {
    let cluster: EtcdTestCluster
    let directory: String
    let etcd: EtcdClient

    static func start(members: Int = 1) async throws -> FleetTestBed {
        let cluster = try await EtcdTestCluster.start(members: members)
        return FleetTestBed(cluster: cluster, directory: try makeTemporaryDirectory(), etcd: makeTestEtcdClient(cluster.clientURLs))
    }

    func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
        Task { [etcd, cluster] in
            await etcd.shutdown()
            await cluster.stop()
        }
    }
}

/// The etcd client the tests write desired state with (and read what the agents wrote).
func makeTestEtcdClient(_ endpoints: [URL]) -> EtcdClient {
    EtcdClient(configuration: EtcdClientConfiguration(endpoints: endpoints), logger: Logger(label: "fleet-test"))
}

extension EtcdClient {
    /// Puts one desired process (a JSON `processes[]` entry).
    func putProcess(_ key: String, _ json: String) async throws {
        try await put(key: key, value: Array(json.utf8))
    }

    /// The keys under `prefix`, by key, as text.
    func texts(under prefix: String) async throws -> [String: String] {
        let range = try await range(prefix: prefix)
        return Dictionary(uniqueKeysWithValues: range.kvs.map { ($0.key, String(decoding: $0.value, as: UTF8.self)) })
    }
}

/// `sleep 600` as a fleet process entry.
func sleeper(_ id: String? = nil) -> String {
    if let id { return #"{"id": "\#(id)", "command": ["sleep", "600"]}"# }
    return #"{"command": ["sleep", "600"]}"#
}
