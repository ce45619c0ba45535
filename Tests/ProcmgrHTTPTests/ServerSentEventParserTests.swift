import ProcmgrHTTP
import Testing

/// The event-stream client parser against the WHATWG HTML standard's rules (§9.2.6,
/// "Interpreting an event stream"), including its own worked examples.
@Suite("Server-Sent Events parser")
struct ServerSentEventParserTests {
    private func parse(_ text: String, chunk: Int? = nil, parser: inout ServerSentEventParser) throws -> [ServerSentEvent] {
        let bytes = Array(text.utf8)
        guard let chunk else { return try parser.feed(bytes) }
        var events: [ServerSentEvent] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            events += try parser.feed(bytes[start..<end])
            start = end
        }
        return events
    }

    private func parse(_ text: String, chunk: Int? = nil) throws -> [ServerSentEvent] {
        var parser = ServerSentEventParser()
        return try parse(text, chunk: chunk, parser: &parser)
    }

    @Test("the agent's own stream: retry, id, event, one JSON data line, keep-alive comments")
    func agentStream() throws {
        var parser = ServerSentEventParser()
        let events = try parse("""
            retry: 1000

            id: 42
            event: state
            data: {"id":42,"type":"state"}

            : keep-alive

            id: 43
            event: line
            data: {"id":43,"stream":"stdout","text":"hi"}


            """, parser: &parser)
        #expect(events == [
            ServerSentEvent(type: "state", data: #"{"id":42,"type":"state"}"#, lastEventID: "42"),
            ServerSentEvent(type: "line", data: #"{"id":43,"stream":"stdout","text":"hi"}"#, lastEventID: "43"),
        ])
        #expect(parser.reconnectionTime == 1000)
        #expect(parser.lastEventID == "43")
    }

    @Test("the same events whatever the chunking, down to one byte at a time", arguments: [1, 2, 3, 5, 7, 64])
    func chunking(_ size: Int) throws {
        let text = "\u{FEFF}retry: 500\r\n\r\nid: 1\r\nevent: a\r\ndata: x\r\ndata: ünï\r\n\r\nid: 2\rdata: y\r\r: c\ndata: z\n\n"
        let whole = try parse(text)
        #expect(whole == [
            ServerSentEvent(type: "a", data: "x\nünï", lastEventID: "1"),
            ServerSentEvent(type: "message", data: "y", lastEventID: "2"),
            ServerSentEvent(type: "message", data: "z", lastEventID: "2"),
        ])
        #expect(try parse(text, chunk: size) == whole)
    }

    @Test("standard example: multi-line data joined with LF, comment ignored")
    func multiLineData() throws {
        let events = try parse(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n")
        #expect(events == [
            ServerSentEvent(data: "first event", lastEventID: "1"),
            // `id` without a colon: a field with an empty value, which resets the last event ID.
            ServerSentEvent(data: "second event", lastEventID: ""),
            // Only one leading space is removed.
            ServerSentEvent(data: " third event", lastEventID: ""),
        ])
    }

    @Test("standard example: `data` alone is an empty data line; the unfinished last event is dropped")
    func emptyData() throws {
        let events = try parse("data\n\ndata\ndata\n\ndata:")
        #expect(events == [ServerSentEvent(data: ""), ServerSentEvent(data: "\n")])
    }

    @Test("standard example: `data:test` and `data: test` are the same")
    func oneSpace() throws {
        #expect(try parse("data:test\n\ndata: test\n\n") == [ServerSentEvent(data: "test"), ServerSentEvent(data: "test")])
    }

    @Test("an event without data dispatches nothing and its type does not leak into the next")
    func noData() throws {
        let events = try parse("event: ghost\nid: 9\n\ndata: real\n\n")
        #expect(events == [ServerSentEvent(type: "message", data: "real", lastEventID: "9")])
    }

    @Test("an id containing NUL is ignored; the previous one stays")
    func idWithNUL() throws {
        let events = try parse("id: 5\ndata: a\n\nid: 6\u{0}x\ndata: b\n\n")
        #expect(events.map(\.lastEventID) == ["5", "5"])
    }

    @Test("retry: only all-digit values count", arguments: [
        ("retry: 250\n", 250), ("retry: 25x\n", nil), ("retry:\n", nil), ("retry: -5\n", nil), ("retry:  7\n", nil),
        ("retry: 99999999999999999999999\n", nil),
    ] as [(String, Int?)])
    func retry(_ text: String, _ expected: Int?) throws {
        var parser = ServerSentEventParser()
        _ = try parse(text, parser: &parser)
        #expect(parser.reconnectionTime == expected)
    }

    @Test("unknown fields and field names that only start like known ones are ignored")
    func unknownFields() throws {
        let events = try parse("foo: bar\ndatum: x\nEvent: no\ndata: y\n\n")
        #expect(events == [ServerSentEvent(type: "message", data: "y")])
    }

    @Test("a BOM is dropped only at the very start of the stream")
    func bom() throws {
        #expect(try parse("\u{FEFF}data: a\n\n") == [ServerSentEvent(data: "a")])
        // A second BOM makes the first line's field name "\u{FEFF}data": unknown, ignored.
        #expect(try parse("\u{FEFF}\u{FEFF}data: a\n\n").isEmpty)
        #expect(try parse("data: a\n\n\u{FEFF}data: b\n\n") == [ServerSentEvent(data: "a")])
    }

    @Test("CRLF split across chunks is one line end, not two")
    func splitCRLF() throws {
        var parser = ServerSentEventParser()
        var events = try parser.feed(Array("data: a\r".utf8))
        events += try parser.feed(Array("\ndata: b\r\n\r".utf8))
        #expect(events == [ServerSentEvent(data: "a\nb")])
        events += try parser.feed(Array("\n".utf8))
        #expect(events == [ServerSentEvent(data: "a\nb")])
    }

    @Test("invalid UTF-8 becomes U+FFFD instead of failing")
    func invalidUTF8() throws {
        var parser = ServerSentEventParser()
        let events = try parser.feed(Array("data: a".utf8) + [0xFF, 0xC3] + Array("b\n\n".utf8))
        #expect(events == [ServerSentEvent(data: "a\u{FFFD}\u{FFFD}b")])
    }

    @Test("a resumed parser carries the previous connection's last event ID")
    func resumedID() throws {
        var parser = ServerSentEventParser(lastEventID: "17")
        #expect(try parser.feed(Array("event: missed\ndata: {}\n\n".utf8)) == [ServerSentEvent(type: "missed", data: "{}", lastEventID: "17")])
    }

    @Test("a line longer than the limit is an error, at the limit it is fine")
    func lineLimit() throws {
        var parser = ServerSentEventParser(maxLineBytes: 16)
        #expect(try parser.feed(Array(("data: " + String(repeating: "x", count: 10) + "\n\n").utf8)).count == 1)
        var tooLong = ServerSentEventParser(maxLineBytes: 16)
        #expect(throws: ServerSentEventParser.Failure.lineTooLong(limit: 16)) {
            // No line end ever comes: the parser must stop buffering at the limit.
            for _ in 0..<100 { _ = try tooLong.feed(Array("xxxxxxxx".utf8)) }
        }
        var withBOM = ServerSentEventParser(maxLineBytes: 16)
        #expect(try withBOM.feed([0xEF, 0xBB, 0xBF] + Array(("data: " + String(repeating: "x", count: 10) + "\n\n").utf8)).count == 1)
    }

    @Test("data lines adding up past the event limit are an error")
    func eventLimit() throws {
        var parser = ServerSentEventParser(maxLineBytes: 64, maxDataBytes: 32)
        #expect(throws: ServerSentEventParser.Failure.eventTooLarge(limit: 32)) {
            for _ in 0..<10 { _ = try parser.feed(Array("data: 0123456789\n".utf8)) }
        }
        var fine = ServerSentEventParser(maxLineBytes: 64, maxDataBytes: 32)
        for _ in 0..<10 { _ = try fine.feed(Array("data: 0123456789\n\n".utf8)) }
    }
}
