/// Parsing and printing of the schema's duration syntax: `500ms`, `10s`,
/// `2m`, `1h` and combinations in decreasing unit order such as `1m30s`.
/// Decimal amounts (`1.5s`) are accepted down to nanosecond precision.
///
/// Kept separate from validation so the runtime and CLI can print durations
/// in exactly the syntax the config accepts (`format` output always parses
/// back to the same value).
public enum DurationText {
    /// Units in the order they must appear, with their size in nanoseconds.
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
    ]

    /// The duration written in `text`, or `nil` if it is not one (empty,
    /// negative, no unit, unknown unit, units out of order or repeated,
    /// overflowing).
    public static func parse(_ text: String) -> Duration? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        var index = 0
        var total: Int64 = 0
        var lastUnit = -1
        while index < bytes.count {
            // Amount: digits, optionally '.' digits.
            let wholeStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            let whole = bytes[wholeStart..<index]
            var fraction: ArraySlice<UInt8> = []
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                let fractionStart = index
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                fraction = bytes[fractionStart..<index]
                guard !fraction.isEmpty else { return nil }
            }
            guard !whole.isEmpty else { return nil }
            // Unit: the longest matching suffix ("ms" before "m").
            let unitStart = index
            while index < bytes.count, isLetter(bytes[index]) { index += 1 }
            let unitText = String(decoding: bytes[unitStart..<index], as: UTF8.self)
            guard let unit = units.firstIndex(where: { $0.suffix == unitText }), unit > lastUnit else { return nil }
            lastUnit = unit
            guard let amount = nanoseconds(whole: whole, fraction: fraction, unit: units[unit].nanoseconds) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(amount)
            guard !overflow else { return nil }
            total = sum
        }
        return .nanoseconds(total)
    }

    /// `duration` in the config syntax, largest units first: `1h`, `1m30s`,
    /// `500ms`, `1.5ms`, `0s`. Negative durations get a leading `-` (which
    /// `parse` rejects; they never come out of a valid config).
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || attoseconds < 0 {
            return "-" + format(.zero - duration)
        }
        var remaining = seconds
        var text = ""
        let hours = remaining / 3600
        remaining %= 3600
        let minutes = remaining / 60
        remaining %= 60
        if hours > 0 { text += "\(hours)h" }
        if minutes > 0 { text += "\(minutes)m" }
        if remaining > 0 { text += "\(remaining)s" }
        let nanos = attoseconds / 1_000_000_000
        if nanos > 0 {
            let millis = nanos / 1_000_000
            let rest = nanos % 1_000_000
            if rest == 0 {
                text += "\(millis)ms"
            } else {
                var digits = String(rest)
                digits = String(repeating: "0", count: 6 - digits.count) + digits
                while digits.hasSuffix("0") { digits.removeLast() }
                text += "\(millis).\(digits)ms"
            }
        }
        return text.isEmpty ? "0s" : text
    }

    private static func nanoseconds(whole: ArraySlice<UInt8>, fraction: ArraySlice<UInt8>, unit: Int64) -> Int64? {
        var value: Int64 = 0
        for digit in whole {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (plus, overflow2) = times.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = plus
        }
        let (scaled, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        // Fraction: each further digit is worth a tenth of the previous one.
        var fractional: Int64 = 0
        var place = unit
        for digit in fraction {
            place /= 10
            if place == 0 { break }
            fractional += Int64(digit - UInt8(ascii: "0")) * place
        }
        let (sum, overflowSum) = scaled.addingReportingOverflow(fractional)
        return overflowSum ? nil : sum
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
