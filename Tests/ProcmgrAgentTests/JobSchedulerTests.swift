import Foundation
import ProcmgrAgent
import ProcmgrConfig
import Testing

/// Every `period` seconds since the epoch, for tests that step through time without cron.
struct EverySeconds: FireSchedule, Equatable {
    let period: TimeInterval

    func nextFire(after date: Date) -> Date? {
        Date(timeIntervalSince1970: ((date.timeIntervalSince1970 / period).rounded(.down) + 1) * period)
    }
}

/// The scheduled jobs' timing and overlap policy alone, with time passed in.
struct JobSchedulerTests {
    static let t0 = Date(timeIntervalSince1970: 1_000)

    @Test("a job fires at its time, then moves to its next fire")
    func firesAndAdvances() {
        var scheduler = JobScheduler<EverySeconds>()
        scheduler.set("job", schedule: EverySeconds(period: 60), overlap: .forbid, now: Self.t0)
        #expect(scheduler.nextRun(of: "job") == Date(timeIntervalSince1970: 1_020))
        #expect(scheduler.fire(now: Date(timeIntervalSince1970: 1_019), isRunning: { _ in false }) == [])
        #expect(scheduler.fire(now: Date(timeIntervalSince1970: 1_020), isRunning: { _ in false }) == [.start("job")])
        #expect(scheduler.nextRun(of: "job") == Date(timeIntervalSince1970: 1_080))
    }

    @Test("missed fires are not replayed: one run, then the next fire after now")
    func missedFires() {
        var scheduler = JobScheduler<EverySeconds>()
        scheduler.set("job", schedule: EverySeconds(period: 60), overlap: .forbid, now: Self.t0)
        #expect(scheduler.fire(now: Date(timeIntervalSince1970: 1_500), isRunning: { _ in false }) == [.start("job")])
        #expect(scheduler.nextRun(of: "job") == Date(timeIntervalSince1970: 1_560))
    }

    @Test("overlap: forbid skips, replace replaces")
    func overlap() {
        var scheduler = JobScheduler<EverySeconds>()
        scheduler.set("a", schedule: EverySeconds(period: 10), overlap: .forbid, now: Self.t0)
        scheduler.set("b", schedule: EverySeconds(period: 10), overlap: .replace, now: Self.t0)
        let fired = scheduler.fire(now: Date(timeIntervalSince1970: 1_010), isRunning: { _ in true })
        #expect(fired == [.skip("a"), .replace("b")])
    }

    @Test("one timer: nextDue is the earliest fire across jobs")
    func nextDue() {
        var scheduler = JobScheduler<EverySeconds>()
        #expect(scheduler.nextDue == nil)
        scheduler.set("slow", schedule: EverySeconds(period: 3_600), overlap: .forbid, now: Self.t0)
        scheduler.set("fast", schedule: EverySeconds(period: 7), overlap: .forbid, now: Self.t0)
        #expect(scheduler.nextDue == Date(timeIntervalSince1970: 1_001))
        scheduler.keepOnly(["slow"])
        #expect(scheduler.nextDue == Date(timeIntervalSince1970: 3_600))
        #expect(scheduler.ids == ["slow"])
    }

    @Test("a reload with the same schedule keeps the next fire; a changed schedule recomputes it")
    func reload() {
        var scheduler = JobScheduler<EverySeconds>()
        scheduler.set("job", schedule: EverySeconds(period: 60), overlap: .forbid, now: Self.t0)
        scheduler.set("job", schedule: EverySeconds(period: 60), overlap: .replace, now: Date(timeIntervalSince1970: 1_019))
        #expect(scheduler.nextRun(of: "job") == Date(timeIntervalSince1970: 1_020))
        #expect(scheduler.fire(now: Date(timeIntervalSince1970: 1_020), isRunning: { _ in true }) == [.replace("job")])
        scheduler.set("job", schedule: EverySeconds(period: 7), overlap: .forbid, now: Date(timeIntervalSince1970: 1_030))
        #expect(scheduler.nextRun(of: "job") == Date(timeIntervalSince1970: 1_036))
        #expect(scheduler.keepOnly([]) == ["job"])
        #expect(scheduler.nextRun(of: "job") == nil)
    }
}

struct ScaleOverridesTests {
    @Test("an override holds while the config is unchanged and is dropped when it changes")
    func keptUntilConfigChanges() {
        var overrides = ScaleOverrides<String>()
        #expect(overrides.count(for: "w", config: "v1", configured: 3) == 3)
        overrides.set("w", count: 5, config: "v1")
        #expect(overrides.count(for: "w", config: "v1", configured: 3) == 5)
        #expect(overrides.count(for: "w", config: "v2", configured: 3) == 3)
        #expect(overrides.override(of: "w") == nil)
        #expect(overrides.count(for: "w", config: "v1", configured: 3) == 3)
    }

    @Test("overrides of processes no longer configured are forgotten")
    func keepOnly() {
        var overrides = ScaleOverrides<String>()
        overrides.set("a", count: 2, config: "x")
        overrides.set("b", count: 4, config: "x")
        overrides.keepOnly(["b"])
        #expect(overrides.override(of: "a") == nil)
        #expect(overrides.override(of: "b") == 4)
    }
}
