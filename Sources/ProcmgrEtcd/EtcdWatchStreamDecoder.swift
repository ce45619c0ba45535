import Foundation

/// The bytes of a streamed `POST /v3/watch` response turned into watch messages: the stream cut
/// into JSON objects whatever the chunking (``EtcdJSONStreamSplitter``), each object mapped to an
/// ``EtcdWatchMessage``. Everything in it comes from the network, so every input ends in
/// messages or an ``EtcdError`` — never a crash; the fuzz target `etcd-watch` holds it to that
/// and to giving the same result however the bytes are chunked.
public struct EtcdWatchStreamDecoder: Sendable {
    /// What one object of the stream said.
    public enum Decoded: Sendable, Hashable {
        case message(EtcdWatchMessage)
        /// etcd refused the auth token (it expired): the watch must be opened again with a new one.
        case tokenInvalid(String)
    }

    private var splitter: EtcdJSONStreamSplitter
    private let what: String

    /// - Parameters:
    ///   - limit: the most bytes one message may have (`.tooLarge` beyond).
    ///   - what: how errors name the stream ("http://10.0.0.1:2379 watch /procmgr/…").
    public init(limit: Int, what: String) {
        splitter = EtcdJSONStreamSplitter(limit: limit)
        self.what = what
    }

    /// Feeds the next bytes; returns what the objects they completed said, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(EtcdError) -> [Decoded] {
        // The objects completed before a framing failure are decoded first: whatever fails first
        // in the stream is what the caller hears, however the bytes were chunked.
        let (objects, failure) = splitter.feedUntilFailure(bytes)
        var decoded: [Decoded] = []
        decoded.reserveCapacity(objects.count)
        for object in objects {
            switch try EtcdClient.watchMessage(Data(object), what: what) {
            case .message(let message): decoded.append(.message(message))
            case .tokenInvalid(let error): decoded.append(.tokenInvalid(error.message))
            }
        }
        switch failure {
        case nil: return decoded
        case .tooLarge: throw EtcdError(.tooLarge, "\(what): a message exceeds \(splitter.limit) bytes")
        case .garbage(let byte): throw EtcdError(.invalidResponse, "\(what): not a stream of JSON objects (byte \(byte) outside any object)")
        }
    }
}
