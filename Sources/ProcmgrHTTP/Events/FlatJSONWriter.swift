import NIOCore

/// Writes one flat JSON object (strings, integers, doubles, booleans, arrays of strings) straight
/// into a `ByteBuffer`, for the two shapes the SSE streams send once per event or log line.
///
/// Why not `JSONEncoder`: a followed log sends tens of thousands of lines a second, and the
/// encoder's boxing, key sorting and `Data` round trip cost several microseconds per line (see
/// `procmgr-bench sse`). Escaping follows RFC 8259: `"` and `\` and every control character
/// below U+0020 are escaped, everything else (non-BMP characters included) is copied as UTF-8,
/// so the output never holds a raw newline and stays one SSE `data:` line.
/// `Tests/ProcmgrHTTPTests/FlatJSONWriterTests` decodes random strings back through
/// `JSONDecoder` and `JSONSerialization`.
struct FlatJSONWriter {
    private var hasFields = false

    /// Writes `{`.
    init(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "{"))
    }

    /// Writes `}`.
    func finish(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    mutating func field(_ key: StaticString, _ value: String?, into buffer: inout ByteBuffer) {
        guard let value else { return }
        writeKey(key, into: &buffer)
        Self.writeString(value, into: &buffer)
    }

    mutating func field(_ key: StaticString, _ value: UInt64?, into buffer: inout ByteBuffer) {
        guard let value else { return }
        writeKey(key, into: &buffer)
        Self.writeDecimal(value, into: &buffer)
    }

    mutating func field(_ key: StaticString, _ value: Int?, into buffer: inout ByteBuffer) {
        guard let value else { return }
        writeKey(key, into: &buffer)
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        Self.writeDecimal(UInt64(value.magnitude), into: &buffer)
    }

    /// A non-finite value (which `JSONEncoder` refuses) is written as 0 rather than breaking the stream.
    mutating func field(_ key: StaticString, _ value: Double?, into buffer: inout ByteBuffer) {
        guard let value else { return }
        writeKey(key, into: &buffer)
        // `description` is the shortest text that reads back as the same Double, in a form
        // JSON accepts (`1765000000.123`, `1e-05`, `1e+16`).
        buffer.writeString(value.isFinite ? value.description : "0")
    }

    mutating func field(_ key: StaticString, _ value: Bool?, into buffer: inout ByteBuffer) {
        guard let value else { return }
        writeKey(key, into: &buffer)
        buffer.writeStaticString(value ? "true" : "false")
    }

    mutating func field(_ key: StaticString, _ values: [String]?, into buffer: inout ByteBuffer) {
        guard let values else { return }
        writeKey(key, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            Self.writeString(value, into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    private mutating func writeKey(_ key: StaticString, into buffer: inout ByteBuffer) {
        if hasFields { buffer.writeInteger(UInt8(ascii: ",")) }
        hasFields = true
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(key)
        buffer.writeStaticString("\":")
    }

    /// `text` as a JSON string literal: runs that need no escaping are copied in one go.
    static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart..<index])) }
                writeEscape(byte, into: &buffer)
                runStart = index + 1
            }
            if runStart < bytes.count { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[runStart...])) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func writeEscape(_ byte: UInt8, into buffer: inout ByteBuffer) {
        switch byte {
        case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
        case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
        case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
        case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
        case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
        case 0x08: buffer.writeStaticString("\\b")
        case 0x0C: buffer.writeStaticString("\\f")
        default:
            // Only bytes below 0x20 get here: `\u00` and two hex digits, the first 0 or 1.
            buffer.writeStaticString("\\u00")
            buffer.writeInteger(UInt8(ascii: "0") + (byte >> 4))
            let low = byte & 0x0F
            buffer.writeInteger(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
        }
    }

    /// Decimal digits of `value` without an intermediate `String`.
    static func writeDecimal(_ value: UInt64, into buffer: inout ByteBuffer) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var rest = value
        while true {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            if divisor == 1 { return }
            divisor /= 10
        }
    }
}
