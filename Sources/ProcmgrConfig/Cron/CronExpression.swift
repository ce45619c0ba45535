import Foundation

/// A five-field cron expression (`minute hour day-of-month month day-of-week`)
/// or one of the aliases `@yearly`/`@annually`, `@monthly`, `@weekly`,
/// `@daily`/`@midnight`, `@hourly`.
///
/// Matching follows Vixie cron: when both day-of-month and day-of-week are
/// restricted (neither starts with `*`), a day matches if *either* does;
/// otherwise both must. Day-of-week 0 and 7 are Sunday.
public struct CronExpression: Sendable, Hashable {
    /// The expression as written; equality compares the parsed sets, so
    /// `0 * * * *` equals `@hourly`.
    public var text: String

    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    /// Both day fields restricted: cron's OR rule applies.
    let daysEitherMatch: Bool

    static let aliases: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    public init(parsing text: String) throws(CronParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var expanded = trimmed
        if trimmed.hasPrefix("@") {
            guard let alias = Self.aliases[trimmed.lowercased()] else {
                let known = Self.aliases.keys.sorted().joined(separator: ", ")
                throw CronParseError(field: nil, message: "\(ConfigNode.quoted(trimmed)) is not a cron alias (\(known))")
            }
            expanded = alias
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            throw CronParseError(field: nil, message: "\(ConfigNode.quoted(trimmed)) has \(fields.count) field\(fields.count == 1 ? "" : "s"); "
                                 + "expected five (minute hour day-of-month month day-of-week) or an alias such as @hourly")
        }
        let minute = try CronFieldParser(field: .minute).parse(fields[0])
        let hour = try CronFieldParser(field: .hour).parse(fields[1])
        let dayOfMonth = try CronFieldParser(field: .dayOfMonth).parse(fields[2])
        let month = try CronFieldParser(field: .month).parse(fields[3])
        let dayOfWeek = try CronFieldParser(field: .dayOfWeek).parse(fields[4])
        self.text = text
        minutes = minute.bits
        hours = hour.bits
        daysOfMonth = dayOfMonth.bits
        months = month.bits
        daysOfWeek = dayOfWeek.bits
        daysEitherMatch = !dayOfMonth.startsWithStar && !dayOfWeek.startsWithStar
    }

    public static func == (lhs: CronExpression, rhs: CronExpression) -> Bool {
        lhs.minutes == rhs.minutes && lhs.hours == rhs.hours && lhs.daysOfMonth == rhs.daysOfMonth
            && lhs.months == rhs.months && lhs.daysOfWeek == rhs.daysOfWeek && lhs.daysEitherMatch == rhs.daysEitherMatch
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(minutes)
        hasher.combine(hours)
        hasher.combine(daysOfMonth)
        hasher.combine(months)
        hasher.combine(daysOfWeek)
        hasher.combine(daysEitherMatch)
    }

    /// Whether the day `day` of a month (weekday 0 = Sunday) is a firing day.
    func matchesDay(_ day: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(day)) != 0
        let dow = daysOfWeek & (1 << UInt64(weekday)) != 0
        return daysEitherMatch ? (dom || dow) : (dom && dow)
    }
}
