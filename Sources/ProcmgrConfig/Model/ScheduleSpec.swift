public import Foundation

/// What happens when a scheduled run is due while the previous one still runs.
public enum JobConcurrency: String, Sendable, Hashable, CaseIterable {
    /// The new run is skipped (and counted).
    case forbid
    /// The running one is stopped and the new one started.
    case replace
}

/// `schedule:`, `time_zone:` and `concurrency:` of a job (`restart: never`).
public struct ScheduleSpec: Sendable, Hashable {
    public var cron: CronExpression
    /// IANA time zone id the cron fields are read in; validated to exist.
    public var timeZone: String
    public var concurrency: JobConcurrency

    public init(cron: CronExpression, timeZone: String = ConfigDefaults.timeZone,
                concurrency: JobConcurrency = ConfigDefaults.concurrency) {
        self.cron = cron
        self.timeZone = timeZone
        self.concurrency = concurrency
    }

    /// The next run strictly after `date`; `nil` when the expression never
    /// fires again (`0 0 30 2 *`) or the zone is unknown to this machine.
    public func nextFire(after date: Date) -> Date? {
        guard let zone = TimeZone(identifier: timeZone) else { return nil }
        return cron.nextFire(after: date, in: zone)
    }
}
