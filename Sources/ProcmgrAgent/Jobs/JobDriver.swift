import Foundation
import Logging
import ProcmgrConfig
import ProcmgrEngine
import ProcmgrSupport

/// What the job driver does to the processes it schedules (the agent's engine, or a test double).
protocol JobRunner: Sendable {
    /// A run of the job is going (its worker has not finished).
    func isRunning(_ id: String) -> Bool
    /// Starts a new run (the worker created again).
    func start(_ id: String)
    /// Stops the running run, then starts a new one once it is gone.
    func replace(_ id: String)
}

/// Runs the scheduled jobs: one task with one timer, set to the earliest next fire across all
/// jobs (``JobScheduler/nextDue``), not a task per job. A reload that changes the jobs wakes it
/// so the timer is set anew.
final class JobDriver<Schedule: FireSchedule & Equatable>: Sendable {
    struct Job: Sendable {
        var id: String
        var schedule: Schedule
        var overlap: JobConcurrency
    }

    private let clock: any JobClock
    private let runner: any JobRunner
    private let logger: Logger
    private let onSkip: @Sendable (String) -> Void
    private let scheduler = LockedState(JobScheduler<Schedule>())
    /// Rung when the jobs change, so the one timer is set anew.
    private let changed = WakeSignal()

    init(clock: any JobClock, runner: any JobRunner, logger: Logger, onSkip: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.runner = runner
        self.logger = logger
        self.onSkip = onSkip
    }

    /// The complete set of jobs now configured. Returns the ids no longer scheduled.
    @discardableResult
    func configure(_ jobs: [Job]) -> [String] {
        let now = clock.now()
        let removed = scheduler.withLock { scheduler in
            for job in jobs { scheduler.set(job.id, schedule: job.schedule, overlap: job.overlap, now: now) }
            return scheduler.keepOnly(Set(jobs.map(\.id)))
        }
        changed.ring()
        return removed
    }

    /// When the job fires next (`next_run_at`), `nil` for an id that is not a job.
    func nextRun(of id: String) -> Date? {
        scheduler.withLock { $0.nextRun(of: id) }
    }

    func configuredAt(_ id: String) -> Date? {
        scheduler.withLock { $0.addedAt(of: id) }
    }

    func isJob(_ id: String) -> Bool {
        scheduler.withLock { $0.ids.contains(id) }
    }

    /// Fires jobs until cancelled.
    func run() async {
        while !Task.isCancelled {
            fireDue()
            let due = scheduler.withLock { $0.nextDue }
            let clock = self.clock
            let changed = self.changed
            // Wait for the next fire or a change of the jobs, whichever comes first.
            await withTaskGroup(of: Void.self) { group in
                if let due { group.addTask { try? await clock.sleep(until: due) } }
                group.addTask { await changed.wait() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func fireDue() {
        let now = clock.now()
        let runner = self.runner
        let fired = scheduler.withLock { $0.fire(now: now, isRunning: { runner.isRunning($0) }) }
        for fire in fired {
            switch fire {
            case .start(let id):
                logger.info("scheduled job: starting a run", metadata: ["process": "\(id)"])
                runner.start(id)
            case .skip(let id):
                logger.notice("scheduled job: run skipped, the previous one still runs (concurrency: forbid)", metadata: ["process": "\(id)"])
                onSkip(id)
            case .replace(let id):
                logger.notice("scheduled job: replacing the running run (concurrency: replace)", metadata: ["process": "\(id)"])
                runner.replace(id)
            }
        }
    }
}
