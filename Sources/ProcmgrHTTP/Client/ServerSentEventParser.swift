/// The client side of Server-Sent Events: feed it the bytes of a `text/event-stream` body as they
/// arrive, in chunks of any size, and it returns the events completed so far.
///
/// It follows the WHATWG HTML standard's "interpreting an event stream" (§9.2.6): lines end in
/// CRLF, LF or CR (a CRLF split across two chunks is still one line end); one leading UTF-8 BOM
/// is dropped; a line starting with `:` is a comment; `field: value` loses one space after the
/// colon; a line without a colon is a field with an empty value; `data:` lines join with `\n`;
/// `id:` persists across events and is ignored when it contains NUL; `retry:` is taken only when
/// it is all ASCII digits; unknown fields are ignored; a blank line dispatches, and an event
/// with no `data:` dispatches nothing; an unfinished event at the end of the stream is dropped.
///
/// Bounded: the stream comes from the network, so a line longer than ``maxLineBytes`` or an
/// event whose data outgrows ``maxDataBytes`` is an error, not unbounded memory. A value type:
/// one parser per connection, its ``lastEventID`` seeds the next connection's parser.
public struct ServerSentEventParser: Sendable {
    /// Why a stream was refused.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case lineTooLong(limit: Int)
        case eventTooLarge(limit: Int)

        public var description: String {
            switch self {
            case .lineTooLong(let limit): "an event-stream line is longer than \(limit) bytes"
            case .eventTooLarge(let limit): "an event's data is larger than \(limit) bytes"
            }
        }
    }

    public let maxLineBytes: Int
    public let maxDataBytes: Int
    /// The last event ID buffer: what a reconnecting client sends as `Last-Event-ID`.
    public private(set) var lastEventID: String
    /// The reconnection time (milliseconds) the server asked for with `retry:`, if it did.
    public private(set) var reconnectionTime: Int?

    private var line: [UInt8] = []
    /// The previous chunk ended in CR: an LF at the start of this one completes a CRLF.
    private var afterCR = false
    /// No line finished yet: the first one may start with a BOM.
    private var atStreamStart = true
    private var eventType = ""
    /// The `data:` lines, each followed by LF: empty means no `data:` field yet.
    private var data: [UInt8] = []

    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// - Parameter lastEventID: the ID a resumed stream continues from (events without an `id:`
    ///   line carry it until the server sends a new one).
    public init(maxLineBytes: Int = 1 << 20, maxDataBytes: Int = 4 << 20, lastEventID: String = "") {
        self.maxLineBytes = maxLineBytes
        self.maxDataBytes = maxDataBytes
        self.lastEventID = lastEventID
    }

    /// Consumes `bytes` and returns every event they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Failure) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == Self.lf { continue }
            }
            switch byte {
            case Self.lf:
                try endLine(into: &events)
            case Self.cr:
                afterCR = true
                try endLine(into: &events)
            default:
                // The BOM's three bytes do not count against the limit.
                guard line.count < maxLineBytes + (atStreamStart ? Self.bom.count : 0) else {
                    throw .lineTooLong(limit: maxLineBytes)
                }
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine(into events: inout [ServerSentEvent]) throws(Failure) {
        defer { line.removeAll(keepingCapacity: true) }
        var start = 0
        if atStreamStart {
            atStreamStart = false
            if line.starts(with: Self.bom) { start = Self.bom.count }
        }
        let text = line[start...]
        if text.isEmpty {
            dispatch(into: &events)
            return
        }
        if text.first == Self.colon { return }
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = text.firstIndex(of: Self.colon) {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == Self.space { value = value.dropFirst() }
        } else {
            field = text
            value = []
        }
        try process(field: field, value: value)
    }

    private mutating func process(field: ArraySlice<UInt8>, value: ArraySlice<UInt8>) throws(Failure) {
        switch String(decoding: field, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            guard data.count + value.count + 1 <= maxDataBytes else { throw .eventTooLarge(limit: maxDataBytes) }
            data.append(contentsOf: value)
            data.append(Self.lf)
        case "id":
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                reconnectionTime = Int(String(decoding: value, as: UTF8.self)) ?? reconnectionTime
            }
        default:
            break
        }
    }

    private mutating func dispatch(into events: inout [ServerSentEvent]) {
        defer {
            data.removeAll(keepingCapacity: true)
            eventType = ""
        }
        guard !data.isEmpty else { return }
        events.append(ServerSentEvent(
            type: eventType.isEmpty ? "message" : eventType,
            data: String(decoding: data.dropLast(), as: UTF8.self),
            lastEventID: lastEventID))
    }
}
