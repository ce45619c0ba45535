import Foundation
import NIOCore
import ProcmgrSupport
import Testing

@testable import ProcmgrHTTP

@Suite("The SSE streams' hand-written JSON reads back as what was written")
struct FlatJSONWriterTests {
    /// Characters that need escaping, edge cases of UTF-8 length, and ordinary text.
    static let alphabet: [Character] = {
        var characters: [Character] = (0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }
        characters += ["\"", "\\", "/", "a", "Z", " ", "\u{7F}", "é", "→", "\u{2028}", "\u{2029}", "\u{FEFF}", "😀", "𝄞", "\u{10FFFF}", "\r\n"]
        return characters
    }()

    static func randomString(using generator: inout some RandomNumberGenerator) -> String {
        String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "a" })
    }

    static func encoded(_ write: (inout ByteBuffer) -> Void) -> Data {
        var buffer = ByteBuffer()
        write(&buffer)
        return Data(buffer.readableBytesView)
    }

    @Test("random strings: JSONDecoder and JSONSerialization read back the same string; never a raw newline")
    func randomStrings() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let text = Self.randomString(using: &generator)
            let data = Self.encoded { FlatJSONWriter.writeString(text, into: &$0) }
            #expect(try JSONDecoder().decode(String.self, from: data) == text)
            // corelibs' JSONSerialization drops a U+FEFF that starts a run between escapes (a
            // byte-order mark to it; JSONDecoder and browsers keep it): JSONDecoder judges those.
            if !text.unicodeScalars.contains("\u{FEFF}") {
                let serialized = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) as? String
                #expect(serialized == text)
            }
            #expect(!data.contains(UInt8(ascii: "\n")) && !data.contains(UInt8(ascii: "\r")))
        }
    }

    @Test("every control character escapes as JSONEncoder's output decodes")
    func controlCharacters() throws {
        for byte in UInt8(0)..<0x20 {
            let text = "a\(Character(Unicode.Scalar(byte)))b"
            let data = Self.encoded { FlatJSONWriter.writeString(text, into: &$0) }
            #expect(try JSONDecoder().decode(String.self, from: data) == text)
        }
        #expect(String(decoding: Self.encoded { FlatJSONWriter.writeString("\"\\\n\u{1}", into: &$0) }, as: UTF8.self) == #""\"\\\n\u0001""#)
    }

    @Test("integers at the edges")
    func decimals() {
        for value: UInt64 in [0, 9, 10, 99, 100, 1_000_000, UInt64.max] {
            #expect(String(decoding: Self.encoded { FlatJSONWriter.writeDecimal(value, into: &$0) }, as: UTF8.self) == String(value))
        }
        var buffer = ByteBuffer()
        var json = FlatJSONWriter(into: &buffer)
        json.field("n", Int.min, into: &buffer)
        json.field("m", 7, into: &buffer)
        json.finish(into: &buffer)
        #expect(String(buffer: buffer) == #"{"n":\#(Int.min),"m":7}"#)
    }

    @Test("random AgentEvents decode back equal through JSONDecoder")
    func agentEvents() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2_000 {
            var event = AgentEvent(
                type: AgentEventType.allCases.randomElement(using: &generator) ?? .state,
                process: Bool.random(using: &generator) ? Self.randomString(using: &generator) : nil,
                message: Self.randomString(using: &generator),
                time: [0, 1_765_000_000.123, 1e-7, 1e16, -2.5, Double.random(in: 0...2e9, using: &generator)].randomElement(using: &generator))
            event.id = UInt64(round + 1)
            if Bool.random(using: &generator) { event.from = Self.randomString(using: &generator) }
            if Bool.random(using: &generator) { event.to = Self.randomString(using: &generator) }
            if Bool.random(using: &generator) { event.reason = Self.randomString(using: &generator) }
            if Bool.random(using: &generator) { event.pid = Int32.random(in: Int32.min...Int32.max, using: &generator) }
            if Bool.random(using: &generator) { event.exit = Self.randomString(using: &generator) }
            if Bool.random(using: &generator) { event.restarts = Int.random(in: Int.min...Int.max, using: &generator) }
            if Bool.random(using: &generator) { event.probe = "liveness" }
            if Bool.random(using: &generator) { event.result = "failure" }
            if Bool.random(using: &generator) { event.ready = Bool.random(using: &generator) }
            if Bool.random(using: &generator) { event.dependency = Self.randomString(using: &generator) }
            if Bool.random(using: &generator) { event.condition = "healthy" }
            if Bool.random(using: &generator) { event.waiting = Bool.random(using: &generator) }
            if Bool.random(using: &generator) { event.problems = (0..<Int.random(in: 0...3, using: &generator)).map { _ in Self.randomString(using: &generator) } }
            if Bool.random(using: &generator) { event.source = "file" }
            if Bool.random(using: &generator) { event.replicas = Int.random(in: 0...1_000, using: &generator) }
            let data = Self.encoded { AgentEventEncoding.appendJSON(event, id: event.id, to: &$0) }
            #expect(try JSONDecoder().decode(AgentEvent.self, from: data) == event, "\(String(decoding: data, as: UTF8.self))")
            // Nil fields are left out, as JSONEncoder leaves them out.
            let keys = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys
            let expected = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? [String: Any]).keys
            #expect(Set(keys) == Set(expected))
        }
    }

    @Test("log lines: {id, stream, text}")
    func outputLines() throws {
        struct Line: Decodable, Equatable { let id: UInt64; let stream: String; let text: String }
        var generator = SystemRandomNumberGenerator()
        for id in UInt64(1)...1_000 {
            let line = OutputLine(stream: Bool.random(using: &generator) ? .stdout : .stderr, text: Self.randomString(using: &generator))
            let data = Self.encoded { OutputLineEncoding.appendJSON(line, id: id, to: &$0) }
            #expect(try JSONDecoder().decode(Line.self, from: data) == Line(id: id, stream: line.stream.rawValue, text: line.text))
        }
    }

    @Test("Last-Event-ID: decimal digits that fit a UInt64, nothing else")
    func lastEventID() {
        #expect(LastEventID.parse("0") == 0)
        #expect(LastEventID.parse("42") == 42)
        #expect(LastEventID.parse("18446744073709551615") == UInt64.max)
        for garbage in ["", "-1", "+1", " 1", "1 ", "0x1", "1e3", "18446744073709551616", "١"] {
            #expect(LastEventID.parse(garbage) == nil, "\(garbage.debugDescription)")
        }
    }
}
