import Foundation

/// One event of `GET /api/v1/events`: flat on purpose (every field a client may read sits at the
/// top level, absent when it does not apply), so `jq .reason` and the web page's JS stay simple.
/// Keys are the property names (all one word, or snake_case through ``CodingKeys``).
public struct AgentEvent: Sendable, Codable, Equatable {
    /// Assigned by ``EventJournal/publish(_:)``: 1, 2, 3 … for the agent's lifetime.
    public var id: UInt64 = 0
    /// Unix seconds.
    public var time: Double
    public var type: AgentEventType
    public var process: String?
    /// One human-readable line (what `procmgr events` prints).
    public var message: String
    public var from: String?
    public var to: String?
    public var reason: String?
    public var pid: Int32?
    public var exit: String?
    public var restarts: Int?
    public var probe: String?
    public var result: String?
    public var ready: Bool?
    public var dependency: String?
    public var condition: String?
    public var waiting: Bool?
    public var problems: [String]?
    public var source: String?
    public var replicas: Int?

    /// `time` defaults to now.
    public init(type: AgentEventType, process: String? = nil, message: String, time: Double? = nil) {
        self.type = type
        self.process = process
        self.message = message
        self.time = time ?? Date().timeIntervalSince1970
    }
}
