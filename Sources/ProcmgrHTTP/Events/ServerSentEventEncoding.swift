import NIOCore
import ProcmgrSupport

/// Which SSE stream a response is: the `stream` label of `procmgr_http_streams` and
/// `procmgr_http_stream_dropped_total`.
enum StreamKind: String, Sendable, CaseIterable {
    /// `GET /api/v1/events`.
    case events
    /// `GET /api/v1/processes/{id}/logs?follow=true`.
    case logs
}

/// How one kind of ring entry becomes SSE frames; ``ServerSentEventStream`` is generic over it.
protocol ServerSentEventEncoding: Sendable {
    associatedtype Element: Sendable

    static var kind: StreamKind { get }
    /// What the entries are called in the `missed` and `dropped` messages ("events", "lines").
    static var noun: String { get }

    /// Appends the frame of `entry` (`id:`, `event:`, one `data:` line, a blank line), or nothing
    /// when the stream's filter leaves it out.
    func append(_ entry: StreamRing<Element>.Entry, to buffer: inout ByteBuffer)
}

extension ServerSentEventEncoding {
    /// `event: missed`: the client resumed after `requested`, but the oldest entry kept is `oldest`.
    static func appendMissed(requested: UInt64, oldest: UInt64, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("event: missed\ndata: ")
        var json = FlatJSONWriter(into: &buffer)
        json.field("type", "missed", into: &buffer)
        json.field("requested", requested, into: &buffer)
        json.field("oldest", oldest, into: &buffer)
        json.field("message", "\(noun) \(requested + 1)…\(oldest - 1) are no longer kept", into: &buffer)
        json.finish(into: &buffer)
        buffer.writeStaticString("\n\n")
    }

    /// `event: dropped`: the stream fell `limit` entries behind and is closed.
    static func appendDropped(limit: Int, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("event: dropped\ndata: ")
        var json = FlatJSONWriter(into: &buffer)
        json.field("type", "dropped", into: &buffer)
        json.field(
            "message", "this stream fell \(limit) \(noun) behind and was closed; reconnect with Last-Event-ID to resume",
            into: &buffer)
        json.finish(into: &buffer)
        buffer.writeStaticString("\n\n")
    }
}

/// `GET /api/v1/events`: `event: <type>` and the ``AgentEvent`` as JSON (nil fields left out),
/// only the events of `process` when the client asked for one.
struct AgentEventEncoding: ServerSentEventEncoding {
    static var kind: StreamKind { .events }
    static var noun: String { "events" }

    var process: String?

    func append(_ entry: StreamRing<AgentEvent>.Entry, to buffer: inout ByteBuffer) {
        let event = entry.element
        if let process, event.process != process { return }
        buffer.writeStaticString("id: ")
        FlatJSONWriter.writeDecimal(entry.id, into: &buffer)
        buffer.writeStaticString("\nevent: ")
        buffer.writeString(event.type.rawValue)
        buffer.writeStaticString("\ndata: ")
        Self.appendJSON(event, id: entry.id, to: &buffer)
        buffer.writeStaticString("\n\n")
    }

    /// The event's JSON object; the same fields `JSONEncoder` writes for ``AgentEvent``.
    static func appendJSON(_ event: AgentEvent, id: UInt64, to buffer: inout ByteBuffer) {
        var json = FlatJSONWriter(into: &buffer)
        json.field("id", id, into: &buffer)
        json.field("time", event.time, into: &buffer)
        json.field("type", event.type.rawValue, into: &buffer)
        json.field("process", event.process, into: &buffer)
        json.field("from", event.from, into: &buffer)
        json.field("to", event.to, into: &buffer)
        json.field("reason", event.reason, into: &buffer)
        json.field("pid", event.pid.map(Int.init), into: &buffer)
        json.field("exit", event.exit, into: &buffer)
        json.field("restarts", event.restarts, into: &buffer)
        json.field("probe", event.probe, into: &buffer)
        json.field("result", event.result, into: &buffer)
        json.field("ready", event.ready, into: &buffer)
        json.field("dependency", event.dependency, into: &buffer)
        json.field("condition", event.condition, into: &buffer)
        json.field("waiting", event.waiting, into: &buffer)
        json.field("problems", event.problems, into: &buffer)
        json.field("source", event.source, into: &buffer)
        json.field("replicas", event.replicas, into: &buffer)
        json.field("message", event.message, into: &buffer)
        json.finish(into: &buffer)
    }
}

/// `GET /api/v1/processes/{id}/logs?follow=true`: `event: line` and `{"id","stream","text"}`.
struct OutputLineEncoding: ServerSentEventEncoding {
    static var kind: StreamKind { .logs }
    static var noun: String { "lines" }

    func append(_ entry: StreamRing<OutputLine>.Entry, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("id: ")
        FlatJSONWriter.writeDecimal(entry.id, into: &buffer)
        buffer.writeStaticString("\nevent: line\ndata: ")
        Self.appendJSON(entry.element, id: entry.id, to: &buffer)
        buffer.writeStaticString("\n\n")
    }

    static func appendJSON(_ line: OutputLine, id: UInt64, to buffer: inout ByteBuffer) {
        var json = FlatJSONWriter(into: &buffer)
        json.field("id", id, into: &buffer)
        json.field("stream", line.stream.rawValue, into: &buffer)
        json.field("text", line.text, into: &buffer)
        json.finish(into: &buffer)
    }
}
