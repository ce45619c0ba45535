/// Parsing and printing of byte sizes such as `10MiB`: an integer with an
/// optional unit, binary (`KiB`, `MiB`, `GiB`) or decimal (`KB`, `MB`, `GB`),
/// or `B`/no unit for plain bytes. A space between number and unit is allowed.
public enum ByteSize {
    private static let units: [String: Int] = [
        "B": 1,
        "KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000,
        "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
    ]

    /// The unit names accepted, for messages.
    public static let unitNames = "B, KiB, MiB, GiB, KB, MB, GB"

    /// The number of bytes written in `text`, or `nil` if it is not a size.
    public static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let amount = Int(digits) else { return nil }
        var unit = text.dropFirst(digits.count)
        if unit.first == " " { unit = unit.dropFirst() }
        guard let factor = unit.isEmpty ? 1 : units[String(unit)] else { return nil }
        let (bytes, overflow) = amount.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }

    /// `bytes` with the largest binary unit that divides it exactly:
    /// `10MiB`, `1536KiB`, `1000B`.
    public static func format(_ bytes: Int) -> String {
        for (suffix, factor) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes != 0 && bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        return "\(bytes)B"
    }
}
