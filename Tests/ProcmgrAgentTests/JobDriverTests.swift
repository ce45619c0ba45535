import Foundation
import Logging
@testable import ProcmgrAgent
import ProcmgrConfig
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// The job driver's one timer on a manual clock: fires happen when the clock reaches them, a
/// change of the jobs resets the timer, and overlaps are skipped or replaced.
struct JobDriverTests {
    /// A ``JobClock`` over the test kit's manual clock, with wall time starting at `epoch`.
    struct ManualJobClock: JobClock {
        let manual: ManualClock
        let epoch: Date

        func now() -> Date { epoch.addingTimeInterval(Self.seconds(manual.now.offset)) }

        func sleep(until deadline: Date) async throws {
            let offset = Duration.milliseconds(Int64((deadline.timeIntervalSince(epoch) * 1000).rounded(.up)))
            try await manual.sleep(until: ManualClock.Instant(offset: offset))
        }

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }

    final class RecordingRunner: JobRunner {
        let calls = LockedState<[String]>([])
        let running = LockedState<Set<String>>([])

        func isRunning(_ id: String) -> Bool { running.withLock { $0.contains(id) } }
        func start(_ id: String) { calls.withLock { $0.append("start \(id)") } }
        func replace(_ id: String) { calls.withLock { $0.append("replace \(id)") } }
    }

    static func makeDriver() -> (JobDriver<EverySeconds>, ManualClock, RecordingRunner, LockedState<[String]>) {
        let manual = ManualClock()
        let runner = RecordingRunner()
        let skipped = LockedState<[String]>([])
        let driver = JobDriver<EverySeconds>(
            clock: ManualJobClock(manual: manual, epoch: Date(timeIntervalSince1970: 1_000)), runner: runner,
            logger: Logger(label: "test"), onSkip: { id in skipped.withLock { $0.append(id) } })
        return (driver, manual, runner, skipped)
    }

    @Test("a job fires when the clock reaches its time; a running run is skipped under forbid")
    func firesOnTheClock() async throws {
        let (driver, manual, runner, skipped) = Self.makeDriver()
        driver.configure([.init(id: "job", schedule: EverySeconds(period: 60), overlap: .forbid)])
        #expect(driver.nextRun(of: "job") == Date(timeIntervalSince1970: 1_020))
        let task = Task { await driver.run() }
        defer { task.cancel() }
        try await manual.waitForSleepers(1)
        manual.advance(by: .seconds(19))
        try await manual.waitForSleepers(1)
        #expect(runner.calls.withLock { $0 } == [])
        manual.advance(by: .seconds(1))
        try await eventually("the job started") { runner.calls.withLock { $0 } == ["start job"] }
        #expect(driver.nextRun(of: "job") == Date(timeIntervalSince1970: 1_080))
        runner.running.withLock { _ = $0.insert("job") }
        try await manual.waitForSleepers(1)
        manual.advance(by: .seconds(60))
        try await eventually("the overlapping run was skipped") { skipped.withLock { $0 } == ["job"] }
        #expect(runner.calls.withLock { $0 } == ["start job"])
    }

    @Test("one timer for all jobs, reset when the jobs change; replace replaces")
    func oneTimerResetOnChange() async throws {
        let (driver, manual, runner, _) = Self.makeDriver()
        driver.configure([.init(id: "slow", schedule: EverySeconds(period: 3_600), overlap: .forbid)])
        let task = Task { await driver.run() }
        defer { task.cancel() }
        try await manual.waitForSleepers(1)
        runner.running.withLock { _ = $0.insert("fast") }
        driver.configure([
            .init(id: "slow", schedule: EverySeconds(period: 3_600), overlap: .forbid),
            .init(id: "fast", schedule: EverySeconds(period: 10), overlap: .replace),
        ])
        // The timer is set anew for the earlier fire: still one sleeper, now due at t=1010.
        try await eventually("the timer moved to the fast job") {
            manual.sleeperDeadlines == [ManualClock.Instant(offset: .seconds(10))]
        }
        manual.advance(by: .seconds(10))
        try await eventually("the fast job replaced its run") { runner.calls.withLock { $0 } == ["replace fast"] }
        driver.configure([])
        #expect(driver.nextRun(of: "fast") == nil)
        #expect(!driver.isJob("slow"))
    }
}
