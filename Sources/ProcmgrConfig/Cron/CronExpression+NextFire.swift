public import Foundation

/// The next time a cron expression fires, found by skipping whole fields
/// (to the next matching month, day, hour, minute) rather than testing every
/// minute: a search over years costs a few hundred steps at most.
///
/// The search walks real time, reading the wall clock of `timeZone` at each
/// step, so daylight-saving changes behave like cronie's:
/// - a wall time that does not exist (spring forward: 02:30 in Paris on the
///   last Sunday of March) does not fire that day;
/// - a wall time that happens twice (autumn: 02:30 in Paris on the last
///   Sunday of October) fires once, at its first occurrence — unless the
///   hour field is `*`, in which case the repeated hour is run like any other
///   hour, so `*/5 * * * *` keeps firing every five minutes of real time.
extension CronExpression {
    /// Years searched before concluding the expression never fires; 28 years
    /// is the full cycle of weekdays over leap years (Feb 29 on a Monday).
    static let searchYears = 29

    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = (date.timeIntervalSinceReferenceDate / 60).rounded(.down) * 60 + 60
        var time = Date(timeIntervalSinceReferenceDate: start)
        let lastYear = calendar.component(.year, from: time) + Self.searchYears
        let everyHour = hours == (1 << 24) - 1

        while true {
            let wall = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: time)
            guard let year = wall.year, let month = wall.month, let day = wall.day, let hour = wall.hour,
                  let minute = wall.minute, let weekday = wall.weekday, year <= lastYear
            else { return nil }

            let next: Date?
            if months & (1 << UInt64(month)) == 0 {
                next = Self.following(month, in: months, limit: 12).map { wallTime(year, $0, 1, 0, 0, calendar) }
                    ?? wallTime(year + 1, Self.first(in: months), 1, 0, 0, calendar)
            } else if !matchesDay(day, weekday: weekday - 1) {
                next = startOfNextDay(after: time, calendar)
            } else if hours & (1 << UInt64(hour)) == 0 {
                next = Self.following(hour, in: hours, limit: 23).map { wallTime(year, month, day, $0, 0, calendar) }
                    ?? startOfNextDay(after: time, calendar)
            } else if minutes & (1 << UInt64(minute)) == 0 {
                // Minutes are added in real time: an hour repeated in autumn is walked through, not skipped.
                let target = Self.following(minute, in: minutes, limit: 59) ?? 60
                next = time.addingTimeInterval(Double(target - minute) * 60)
            } else if !everyHour && isRepeatedWallTime(time, calendar) {
                next = time.addingTimeInterval(60)
            } else {
                return time
            }
            // Progress is guaranteed even where the calendar maps a wall time
            // into a DST gap backwards or to the same instant.
            guard let next else { return nil }
            time = next > time ? next : time.addingTimeInterval(60)
        }
    }

    /// The smallest value above `value` (up to `limit`) in `bits`.
    private static func following(_ value: Int, in bits: UInt64, limit: Int) -> Int? {
        guard value < limit else { return nil }
        let above = bits & ~((1 << UInt64(value + 1)) - 1) & ((1 << UInt64(limit + 1)) - 1)
        return above == 0 ? nil : above.trailingZeroBitCount
    }

    private static func first(in bits: UInt64) -> Int { bits.trailingZeroBitCount }

    private func wallTime(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ calendar: Calendar) -> Date? {
        calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))
    }

    private func startOfNextDay(after time: Date, _ calendar: Calendar) -> Date? {
        calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: time))
    }

    /// Whether the wall time at `time` already happened within the last two
    /// hours (the second pass through an hour repeated when clocks go back).
    private func isRepeatedWallTime(_ time: Date, _ calendar: Calendar) -> Bool {
        let wall = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: time)
        return [1800.0, 3600.0, 7200.0].contains { offset in
            calendar.dateComponents([.year, .month, .day, .hour, .minute], from: time.addingTimeInterval(-offset)) == wall
        }
    }
}
