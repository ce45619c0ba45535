/// One field of a cron expression turned into the set of values it matches,
/// as a bit set (bit n = value n). Syntax: comma-separated items, each `*`,
/// `N`, `N-M`, optionally followed by `/STEP`; `N/STEP` means `N-max/STEP`
/// (as cronie and Kubernetes read it). Names (`jan`, `mon`) stand for numbers.
struct CronFieldParser {
    let field: CronField

    struct Parsed {
        var bits: UInt64
        /// Whether the field starts with `*`: Vixie cron's test for the
        /// day-of-month/day-of-week OR rule (`*/2` counts as unrestricted).
        var startsWithStar: Bool
    }

    func parse(_ text: Substring) throws(CronParseError) -> Parsed {
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            bits |= try parseItem(item, whole: text)
        }
        if field == .dayOfWeek, bits & (1 << 7) != 0 { bits = (bits | 1) & ~(1 << 7) }
        return Parsed(bits: bits, startsWithStar: text.hasPrefix("*"))
    }

    private func parseItem(_ item: Substring, whole: Substring) throws(CronParseError) -> UInt64 {
        guard !item.isEmpty else { throw error("\"\(whole)\" has an empty list item") }
        let parts = item.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let base = parts[0]
        var step = 1
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 1 else {
                throw error("step \"\(parts[1])\" in \"\(item)\" is not a whole number of at least 1")
            }
            step = value
        }
        let lower: Int, upper: Int
        if base == "*" {
            (lower, upper) = (field.range.lowerBound, field == .dayOfWeek ? 6 : field.range.upperBound)
        } else if let dash = base.firstIndex(of: "-") {
            lower = try value(base[..<dash])
            upper = try value(base[base.index(after: dash)...])
            guard lower <= upper else { throw error("range \"\(base)\" runs backwards (write the smaller value first)") }
        } else {
            lower = try value(base)
            upper = parts.count == 2 ? field.range.upperBound : lower
        }
        var bits: UInt64 = 0
        for value in stride(from: lower, through: upper, by: step) { bits |= 1 << UInt64(value) }
        return bits
    }

    private func value(_ text: Substring) throws(CronParseError) -> Int {
        if let named = field.names[text.lowercased()] { return named }
        guard let number = Int(text), !text.hasPrefix("+") else {
            let hint = field.names.isEmpty ? "" : " or a name (\(field == .month ? "jan-dec" : "sun-sat"))"
            throw error("\"\(text)\" is not a number\(hint)")
        }
        guard field.range.contains(number) else {
            throw error("\"\(text)\" is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
        }
        return number
    }

    private func error(_ message: String) -> CronParseError {
        CronParseError(field: field, message: message)
    }
}
