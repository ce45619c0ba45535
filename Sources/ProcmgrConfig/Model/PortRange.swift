/// The inclusive range the agent allocates `port: auto` ports from, written
/// `"30000-31000"`.
public struct PortRange: Sendable, Hashable, CustomStringConvertible {
    public let lower: UInt16
    public let upper: UInt16

    /// A range whose bounds the caller knows to be valid (a constant); out-of-order bounds are swapped.
    init(validLower lower: UInt16, upper: UInt16) {
        self.lower = max(1, min(lower, upper))
        self.upper = max(lower, upper)
    }

    /// `nil` unless `1 ≤ lower ≤ upper`.
    public init?(lower: UInt16, upper: UInt16) {
        guard lower >= 1, lower <= upper else { return nil }
        self.lower = lower
        self.upper = upper
    }

    /// Parses `low-high`; `nil` for anything else or an empty/reversed range.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2,
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let lower = UInt16(parts[0]), let upper = UInt16(parts[1])
        else { return nil }
        self.init(lower: lower, upper: upper)
    }

    public var range: ClosedRange<UInt16> { lower...upper }
    public var count: Int { Int(upper) - Int(lower) + 1 }
    public func contains(_ port: UInt16) -> Bool { range.contains(port) }

    /// `30000-31000`.
    public var description: String { "\(lower)-\(upper)" }
}
