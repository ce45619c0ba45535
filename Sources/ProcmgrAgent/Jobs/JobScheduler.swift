public import Foundation
public import ProcmgrConfig

/// When a scheduled job fires: the cron expression and its time zone, behind a protocol so the
/// policy is tested with schedules written for the test.
public protocol FireSchedule: Sendable {
    /// The first fire strictly after `date`, or `nil` if there is none.
    func nextFire(after date: Date) -> Date?
}

/// A job's `schedule:` read in its `time_zone:`.
extension ScheduleSpec: FireSchedule {}

/// One decision at a fire time.
public enum JobFire: Sendable, Hashable {
    case start(String)
    /// The job's previous run still runs and `concurrency: forbid`.
    case skip(String)
    /// The job's previous run still runs and `concurrency: replace`: stop it, then start anew.
    case replace(String)
}

/// The scheduled jobs' timing policy: every job's next fire, which job is due next, and what a
/// fire does given whether the previous run still runs. No clock inside: the caller passes `now`,
/// so tests step through days of schedule synchronously; the agent's ``JobDriver`` sleeps until
/// ``nextDue`` with one timer for all jobs.
public struct JobScheduler<Schedule: FireSchedule & Equatable>: Sendable {
    private struct Job: Sendable {
        var schedule: Schedule
        var overlap: JobConcurrency
        var next: Date?
        /// When the job was first configured (the API's `created_at` before its first run).
        let addedAt: Date
    }

    private var jobs: [String: Job] = [:]

    public init() {}

    /// Adds a job or updates one. The next fire is computed from `now` for a new job or a changed
    /// schedule; an unchanged schedule keeps its next fire (a reload does not move it).
    public mutating func set(_ id: String, schedule: Schedule, overlap: JobConcurrency, now: Date) {
        if var job = jobs[id], job.schedule == schedule {
            job.overlap = overlap
            jobs[id] = job
            return
        }
        jobs[id] = Job(schedule: schedule, overlap: overlap, next: schedule.nextFire(after: now), addedAt: jobs[id]?.addedAt ?? now)
    }

    /// Forgets jobs no longer configured; returns the ids removed.
    @discardableResult
    public mutating func keepOnly(_ ids: Set<String>) -> [String] {
        let removed = jobs.keys.filter { !ids.contains($0) }.sorted()
        for id in removed { jobs[id] = nil }
        return removed
    }

    public var ids: [String] { jobs.keys.sorted() }

    /// The job's next fire time (the API's `next_run_at`).
    public func nextRun(of id: String) -> Date? { jobs[id]?.next }

    /// When the job was first configured.
    public func addedAt(of id: String) -> Date? { jobs[id]?.addedAt }

    /// The earliest next fire across all jobs: the driver's one timer.
    public var nextDue: Date? { jobs.values.compactMap(\.next).min() }

    /// Fires every job whose time has come (at most once each, however late: missed fires while
    /// the agent slept are not replayed, as cron does not) and moves it to its next fire after
    /// `now`. `isRunning` says whether the job's previous run is still going.
    public mutating func fire(now: Date, isRunning: (String) -> Bool) -> [JobFire] {
        var fired: [JobFire] = []
        for id in jobs.keys.sorted() {
            guard var job = jobs[id], let next = job.next, next <= now else { continue }
            job.next = job.schedule.nextFire(after: now)
            jobs[id] = job
            if !isRunning(id) {
                fired.append(.start(id))
            } else {
                fired.append(job.overlap == .forbid ? .skip(id) : .replace(id))
            }
        }
        return fired
    }
}
