public import Foundation

/// The wall clock the job driver reads and sleeps on, injectable so an agent-level test fires a
/// job at a chosen instant instead of waiting for the minute.
public protocol JobClock: Sendable {
    func now() -> Date
    /// Returns at `deadline` (or soon after), or throws when the task is cancelled.
    func sleep(until deadline: Date) async throws
}

/// Real time. Sleeps on the continuous clock for the remaining wall time, then re-checks: a wall
/// clock stepped back while sleeping is noticed at the next wake-up instead of firing early.
public struct SystemJobClock: JobClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return }
            try await Task.sleep(for: .milliseconds(Int64((remaining * 1000).rounded(.up))))
        }
    }
}
