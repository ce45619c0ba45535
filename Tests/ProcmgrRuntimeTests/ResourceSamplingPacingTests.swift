import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The pacing arithmetic of the background resource sampler, on a manual clock.
@Suite("Resource sampling pacing")
struct ResourceSamplingPacingTests {
    typealias Decision = ResourceSamplingPacing.Decision<ManualClock.Instant>
    let pacing = ResourceSamplingPacing()  // 10 s, 0.03 % of a core, idle after 120 s
    let t0 = ManualClock().now

    @Test("no scrape, or none for idleAfter: idle; a scrape and no round yet: sample")
    func wanted() {
        #expect(pacing.decide(now: t0, lastScrape: nil, lastRound: nil) == Decision.idle)
        let now = t0.advanced(by: .seconds(500))
        #expect(pacing.decide(now: now, lastScrape: now.advanced(by: .seconds(-120)), lastRound: nil) == Decision.idle)
        #expect(pacing.decide(now: now, lastScrape: now.advanced(by: .seconds(-119)), lastRound: nil) == Decision.sample)
        #expect(pacing.decide(now: now, lastScrape: now, lastRound: nil) == Decision.sample)
        // Idle wins over a round that would be due.
        #expect(pacing.decide(now: now, lastScrape: now.advanced(by: .seconds(-200)), lastRound: (t0, .milliseconds(1))) == Decision.idle)
    }

    @Test("the period is max(minimum, cost / budget): 100, 1,000 and 10,000 programs at ~17 µs each")
    func budgetArithmetic() {
        #expect(pacing.period(afterRoundCosting: .microseconds(1_700)) == .seconds(10), "100 programs: 5.7 s by budget, the 10 s minimum")
        let thousand = pacing.period(afterRoundCosting: .microseconds(17_000))
        #expect(abs((thousand / .seconds(1)) - 56.67) < 0.01, "1,000 programs: \(thousand)")
        let tenThousand = pacing.period(afterRoundCosting: .microseconds(170_000))
        #expect(abs((tenThousand / .seconds(1)) - 566.67) < 0.01, "10,000 programs: \(tenThousand), ~9.4 minutes")
        #expect(pacing.period(afterRoundCosting: .zero) == .seconds(10))
        #expect(ResourceSamplingPacing(cpuBudget: 0).period(afterRoundCosting: .seconds(1)) == .seconds(10), "no budget: the minimum only")
    }

    @Test("the next round waits from the last round's start; due when that time has come")
    func nextRound() {
        let start = t0
        let scrape = t0.advanced(by: .seconds(5))
        let cost = Duration.microseconds(17_000)
        let next = start.advanced(by: pacing.period(afterRoundCosting: cost))
        #expect(pacing.decide(now: scrape, lastScrape: scrape, lastRound: (start, cost)) == Decision.wait(until: next))
        #expect(pacing.decide(now: next.advanced(by: .seconds(-1)), lastScrape: next.advanced(by: .seconds(-2)), lastRound: (start, cost)) == Decision.wait(until: next))
        #expect(pacing.decide(now: next, lastScrape: next.advanced(by: .seconds(-2)), lastRound: (start, cost)) == Decision.sample)
        let cheap = pacing.decide(now: scrape, lastScrape: scrape, lastRound: (start, .microseconds(10)))
        #expect(cheap == Decision.wait(until: start.advanced(by: .seconds(10))), "a cheap round: the minimum period")
    }

    @Test("the batch size is at least one")
    func batchSize() {
        #expect(ResourceSamplingPacing(batchSize: 0).batchSize == 1)
    }
}
