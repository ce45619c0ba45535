/// Escaping rules of the Prometheus text format 0.0.4, applied once when a
/// family or series is created (the results are cached as bytes).
enum TextEscaping {
    /// HELP text: `\` → `\\`, newline → `\n`.
    static func appendHelp(_ text: String, to buffer: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            default: buffer.append(byte)
            }
        }
    }

    /// Label values: `\` → `\\`, `"` → `\"`, newline → `\n`. Everything else
    /// (any UTF-8) is copied verbatim, which the format allows.
    static func appendLabelValue(_ value: String, to buffer: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\""): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            default: buffer.append(byte)
            }
        }
    }

    /// A series' rendered prefix: `name{a="x",b="y"} ` when `linePrefixed` (counters, gauges),
    /// else just the label block (histograms; empty without labels). Sized up front: series are
    /// created by the thousand when processes churn, and growing the array append by append cost
    /// more than the escaping.
    static func seriesPrefix(name: String, names: [String], values: [String], linePrefixed: Bool) -> [UInt8] {
        var capacity = linePrefixed ? name.utf8.count + 1 : 0
        if !names.isEmpty {
            capacity += 2
            for index in names.indices { capacity += names[index].utf8.count + values[index].utf8.count + 4 }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(capacity)
        if linePrefixed { bytes.append(contentsOf: name.utf8) }
        if !names.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, name) in names.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes.append(contentsOf: name.utf8)
                bytes.append(UInt8(ascii: "="))
                bytes.append(UInt8(ascii: "\""))
                appendLabelValue(values[index], to: &bytes)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        if linePrefixed { bytes.append(UInt8(ascii: " ")) }
        return bytes
    }

    /// `# HELP name text\n# TYPE name type\n`.
    static func header(name: String, help: String, type: String) -> [UInt8] {
        var bytes = Array("# HELP ".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: " "))
        appendHelp(help, to: &bytes)
        bytes.append(contentsOf: "\n# TYPE ".utf8)
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: type.utf8)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}
