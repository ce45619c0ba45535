/// Makes a child's output line safe to copy into the agent's own log.
///
/// Why: the agent's log goes to a terminal or a journal. A child's raw ESC sequences would
/// recolour or clear the operator's terminal, a CR would overwrite the agent's own line, and
/// U+2028/U+2029 would break a log viewer's lines. Every C0 control (tab included), DEL and C1
/// control becomes `\xNN`; U+2028 and U+2029 become `\u2028` / `\u2029`. Invalid UTF-8 never
/// gets here: ``LineSplitter`` decodes with replacement (U+FFFD). A backslash is left as it is:
/// the aim is a harmless log line, not a reversible encoding.
///
/// The `/logs` API and the `log_file` keep the line exactly as the child wrote it.
enum LogEscaping {
    /// `text` with every control character escaped; `text` itself when it has none (the common
    /// case costs one scan of its bytes).
    static func escaped(_ text: String) -> String {
        guard text.utf8.contains(where: mayNeedEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F:
                result += "\\x"
                result += hexDigits(scalar.value)
            case 0x2028, 0x2029:
                result += "\\u"
                result += String(scalar.value, radix: 16)
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A UTF-8 byte that is, or starts, a character ``escaped(_:)`` rewrites: a C0 control, DEL,
    /// the lead byte of U+0080–U+00BF (C1 controls among them) or of U+2000–U+2FFF (line and
    /// paragraph separators among them). False positives only cost the slow path.
    private static func mayNeedEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == 0xC2 || byte == 0xE2
    }

    private static func hexDigits(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
