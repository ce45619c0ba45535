/// Why a cron expression was refused, phrased to follow a config path:
/// `minute "61" is out of range 0-59`.
public struct CronParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field the problem is in; `nil` for the expression as a whole.
    public var field: CronField?
    public var message: String

    public init(field: CronField?, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String {
        guard let field else { return message }
        return "\(field.rawValue) \(message)"
    }
}

/// The five fields of a cron expression, in order; raw values name them in messages.
public enum CronField: String, Sendable, Hashable, CaseIterable {
    case minute
    case hour
    case dayOfMonth = "day-of-month"
    case month
    case dayOfWeek = "day-of-week"

    var range: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        // 7 is accepted as a second Sunday and folded onto 0.
        case .dayOfWeek: 0...7
        }
    }

    /// Three-letter names accepted in place of numbers (case-insensitive).
    var names: [String: Int] {
        switch self {
        case .month:
            ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
             "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
        case .dayOfWeek:
            ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]
        default: [:]
        }
    }
}
