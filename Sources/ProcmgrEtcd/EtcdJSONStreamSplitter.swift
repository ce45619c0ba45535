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
        var complete: [[UInt8]] = []
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
                    complete.append(pending)
                    pending.removeAll(keepingCapacity: pending.count <= 1 << 16)
                }
            default:
                break
            }
        }
        return complete
    }
}
