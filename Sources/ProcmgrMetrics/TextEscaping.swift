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

    /// `{a="x",b="y"}`, or nothing for a series without labels.
    static func labelBlock(names: [String], values: [String]) -> [UInt8] {
        guard !names.isEmpty else { return [] }
        var block: [UInt8] = [UInt8(ascii: "{")]
        for (index, name) in names.enumerated() {
            if index > 0 { block.append(UInt8(ascii: ",")) }
            block.append(contentsOf: name.utf8)
            block.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
            appendLabelValue(values[index], to: &block)
            block.append(UInt8(ascii: "\""))
        }
        block.append(UInt8(ascii: "}"))
        return block
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
