/// One event a `text/event-stream` delivered, as the WHATWG HTML standard's event-stream
/// interpretation dispatches it (§9.2.6).
public struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field; `message` when the event named none.
    public var type: String
    /// The `data:` lines joined with `\n` (the last newline removed).
    public var data: String
    /// The last `id:` seen on the stream up to this event (it carries over to events without an
    /// `id:` line, as the standard says); `""` when none was ever sent.
    public var lastEventID: String

    public init(type: String = "message", data: String, lastEventID: String = "") {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }
}
