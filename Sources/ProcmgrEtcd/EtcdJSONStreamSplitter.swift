/// Cuts a byte stream of concatenated JSON objects (the gateway's streamed responses: one object
/// per message, newline-separated) into one buffer per object, whatever the chunking: a message
/// may span chunks and a chunk may hold several messages. Tracks only nesting depth, strings and
/// escapes; the objects themselves are parsed by the caller.
struct EtcdJSONStreamSplitter {
    /// The most bytes one object may have; more is ``Failure/tooLarge``.
    let limit: Int
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    enum Failure: Error, Equatable {
        case tooLarge
        /// A byte outside any object that is not whitespace.
        case garbage(UInt8)
    }

    init(limit: Int) {
        self.limit = limit
    }

    /// True when bytes of an unfinished object are buffered.
    var hasPartialObject: Bool { !pending.isEmpty }

    /// Feeds `bytes`; returns the objects completed by them, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws(Failure) -> [[UInt8]] {
        let fed = feedUntilFailure(bytes)
        if let failure = fed.failure { throw failure }
        return fed.objects
    }

    /// Feeds `bytes` up to the first failure; returns the objects completed before it and the
    /// failure, so a caller can act on what came first in the stream whatever the chunking.
    mutating func feedUntilFailure(_ bytes: some Sequence<UInt8>) -> (objects: [[UInt8]], failure: Failure?) {
        var complete: [[UInt8]] = []
        do throws(Failure) {
            try scan(bytes) { complete.append($0) }
        } catch {
            return (complete, error)
        }
        return (complete, nil)
    }

    private mutating func scan(_ bytes: some Sequence<UInt8>, _ completed: ([UInt8]) -> Void) throws(Failure) {
        for byte in bytes {
            if depth == 0 {
                switch byte {
                case UInt8(ascii: "{"):
                    depth = 1
                    pending.append(byte)
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    continue
                default:
                    throw .garbage(byte)
                }
                continue
            }
            guard pending.count < limit else { throw .tooLarge }
            pending.append(byte)
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    completed(pending)
                    pending.removeAll(keepingCapacity: pending.count <= 1 << 16)
                }
            default:
                break
            }
        }
    }
}
