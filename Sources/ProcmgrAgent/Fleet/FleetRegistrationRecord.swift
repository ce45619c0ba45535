import Foundation
import ProcmgrHTTP

/// A value the agents write under the fleet's prefix and others read back: one JSON object with
/// sorted keys (the same value is the same bytes, so "changed" is a byte comparison).
public protocol FleetKeyValue: Codable {}

extension FleetKeyValue {
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? [UInt8](encoder.encode(self))) ?? []
    }

    /// A value as read from etcd; `nil` for one that is not this (another tool's key, a
    /// truncated write, over 64 KiB): readers skip it rather than fail the whole answer.
    public static func decode(_ bytes: [UInt8]) -> Self? {
        guard bytes.count <= 64 << 10 else { return nil }
        return try? JSONDecoder().decode(Self.self, from: Data(bytes))
    }
}

/// The value of `{prefix}/agents/{node}`: who this agent is and where its API answers. Discovery
/// (`GET /api/v1/fleet/targets`) and `procmgr fleet status` read it; the agent rewrites it only
/// when the process count changes (coalesced with the status write-back).
public struct FleetRegistrationRecord: FleetKeyValue, Sendable, Hashable {
    public var node: String
    /// The agent's API base URL (`agent.etcd.api_url`, else the address it listens on).
    public var apiURL: String
    public var version: String
    /// Unix time the agent started.
    public var startTime: Double
    /// Processes the agent supervises now.
    public var processes: Int

    public init(node: String, apiURL: String, version: String, startTime: Double, processes: Int) {
        self.node = node
        self.apiURL = apiURL
        self.version = version
        self.startTime = startTime
        self.processes = processes
    }

    enum CodingKeys: String, CodingKey {
        case node, version, processes
        case apiURL = "api_url"
        case startTime = "start_time"
    }


}

/// The value of `{prefix}/status/{node}/{id}`: the process's observed state as the agent's API
/// shows it, without anything that changes on its own (ages, timestamps), so a value is rewritten
/// only when the state really changed.
public struct FleetProcessStatus: FleetKeyValue, Sendable, Hashable {
    public var id: String
    public var state: String
    public var pid: Int32?
    public var ready: Bool
    public var healthy: Bool
    public var restarts: Int
    public var lastExit: String?
    public var lastError: String?

    public init(id: String, state: String, pid: Int32?, ready: Bool, healthy: Bool, restarts: Int, lastExit: String?, lastError: String?) {
        self.id = id
        self.state = state
        self.pid = pid
        self.ready = ready
        self.healthy = healthy
        self.restarts = restarts
        self.lastExit = lastExit
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case id, state, pid, ready, healthy, restarts
        case lastExit = "last_exit"
        case lastError = "last_error"
    }


}

extension FleetProcessStatus {
    /// The status of a process as the API shows it.
    init(view: ProcessView) {
        self.init(id: view.id, state: view.state, pid: view.pid, ready: view.ready, healthy: view.healthy,
                  restarts: view.restarts, lastExit: view.lastExit, lastError: view.lastError)
    }
}
