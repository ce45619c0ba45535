import Foundation
@testable import ProcmgrEtcd
import Testing

/// The watch stream's framing and message mapping, without etcd: chunk boundaries anywhere,
/// several messages per chunk, braces inside strings, the size limit.
@Suite("Etcd watch parsing")
struct EtcdWatchParsingTests {
    static let created = #"{"result":{"header":{"revision":"7"},"created":true}}"#
    static let events = #"{"result":{"header":{"revision":"9"},"events":[{"kv":{"key":"L3t9","create_revision":"8","mod_revision":"8","version":"1","value":"In0i"}},{"type":"DELETE","kv":{"key":"L3t9","mod_revision":"9"}}]}}"#
    static let tricky = #"{"result":{"header":{"revision":"10"},"cancel_reason":"a \"}\" and \\ {[","canceled":true}}"#

    @Test func splitsMessagesWhateverTheChunking() throws {
        let stream = Array((Self.created + "\n" + Self.events + "\n" + Self.tricky + "\n").utf8)
        for chunkSize in [1, 2, 3, 7, 64, stream.count] {
            var splitter = EtcdJSONStreamSplitter(limit: 1 << 10)
            var objects: [String] = []
            for start in stride(from: 0, to: stream.count, by: chunkSize) {
                objects += try splitter.feed(stream[start..<min(start + chunkSize, stream.count)]).map { String(decoding: $0, as: UTF8.self) }
            }
            #expect(objects == [Self.created, Self.events, Self.tricky], "chunk size \(chunkSize)")
            #expect(!splitter.hasPartialObject)
        }
    }

    @Test func refusesAnOversizedMessageAndGarbage() {
        var small = EtcdJSONStreamSplitter(limit: 16)
        #expect(throws: EtcdJSONStreamSplitter.Failure.tooLarge) { _ = try small.feed(Array(Self.created.utf8)) }
        var garbage = EtcdJSONStreamSplitter(limit: 1 << 10)
        #expect(throws: EtcdJSONStreamSplitter.Failure.garbage(UInt8(ascii: "x"))) { _ = try garbage.feed(Array("x{}".utf8)) }
    }

    @Test func mapsMessages() throws {
        func message(_ json: String) throws -> EtcdWatchMessage? {
            guard case .message(let message) = try EtcdClient.watchMessage(Data(json.utf8), what: "test") else { return nil }
            return message
        }
        #expect(try message(Self.created) == .created(revision: 7))
        #expect(try message(Self.events) == .events(revision: 9, [
            EtcdEvent(kind: .put, kv: EtcdKeyValue(key: "/{}", value: Array(#""}""#.utf8), createRevision: 8, modRevision: 8, version: 1, lease: 0)),
            EtcdEvent(kind: .delete, kv: EtcdKeyValue(key: "/{}", value: [], createRevision: 0, modRevision: 9, version: 0, lease: 0)),
        ]))
        #expect(try message(Self.tricky) == .canceled(reason: #"a "}" and \ {["#))
        #expect(try message(#"{"result":{"header":{"revision":"11"}}}"#) == .progress(revision: 11))
        #expect(try message(#"{"result":{"header":{},"canceled":true,"compact_revision":"5"}}"#) == .compacted(compactRevision: 5))
        let error = #expect(throws: EtcdError.self) {
            _ = try message(#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}}"#)
        }
        #expect(error?.code == .unavailable && error?.message.contains("no leader") == true)
        #expect(throws: EtcdError.self) { _ = try message(#"{"result":{"header":{"revision":"x"}}}"#) }
    }

    /// Found by the fuzz target: a negative `http_code` trapped in HTTPResponseStatus.
    @Test func anErrorWithAnImpossibleHTTPCodeIsAnErrorNotATrap() {
        for code in ["-11", "0", "70000", "99"] {
            var decoder = EtcdWatchStreamDecoder(limit: 1 << 12, what: "test")
            let bytes = Array(#"{"error":{"grpc_code":14,"http_code":\#(code),"message":"boom"}}"#.utf8)
            #expect(throws: EtcdError.self) { _ = try decoder.feed(bytes) }
        }
    }

    /// Revisions come off the wire: the next one saturates instead of trapping at Int64.max.
    @Test func theRevisionAfterTheLastIsTheLast() {
        #expect(EtcdRevision.after(41) == 42)
        #expect(EtcdRevision.after(.max) == .max)
    }
}
