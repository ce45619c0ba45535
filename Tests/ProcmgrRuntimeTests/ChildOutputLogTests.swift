@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// How children's lines reach the agent's own log: escaped, rate-limited per process, with a
/// count of what was held back.
@Suite("Child output in the agent's log")
struct ChildOutputLogTests {
    @Test("control characters are escaped; clean text is returned as it is", arguments: [
        ("plain text, ünïcödé ✓ and a \\ backslash", "plain text, ünïcödé ✓ and a \\ backslash"),
        ("\u{1b}[31mred\u{1b}[0m", "\\x1b[31mred\\x1b[0m"),
        ("progress 10%\rprogress 20%", "progress 10%\\x0dprogress 20%"),
        ("tab\there", "tab\\x09here"),
        ("nul\u{0}bell\u{7}del\u{7f}", "nul\\x00bell\\x07del\\x7f"),
        ("c1 \u{85} and \u{9b}31m", "c1 \\x85 and \\x9b31m"),
        ("line\u{2028}separator\u{2029}", "line\\u2028separator\\u2029"),
        ("latin \u{a0}\u{e9} and \u{2013} dash", "latin \u{a0}\u{e9} and \u{2013} dash"),
        ("replacement \u{fffd}", "replacement \u{fffd}"),
    ])
    func escaping(_ input: String, _ expected: String) {
        let escaped = LogEscaping.escaped(input)
        #expect(escaped == expected)
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
    }

    @Test("every control code point comes out as printable ASCII")
    func allControls() {
        let controls = (0x00...0x1F).map { Unicode.Scalar(UInt8($0)) } + (0x7F...0x9F).compactMap { Unicode.Scalar(UInt32($0)) }
        var text = ""
        text.unicodeScalars.append(contentsOf: controls)
        let escaped = LogEscaping.escaped(text)
        #expect(escaped.utf8.allSatisfy { (0x20..<0x7F).contains($0) })
        #expect(escaped.count == 4 * controls.count)
    }

    @Test("token bucket: a burst at once, then the rate")
    func tokenBucket() {
        let clock = ManualClock()
        var bucket = TokenBucket(capacity: 100, refillPerSecond: 50, now: clock.now)
        /// Tokens taken at the current time until the bucket says no.
        func drain() -> Int {
            var taken = 0
            while taken < 10_000, bucket.take(now: clock.now) { taken += 1 }
            return taken
        }
        #expect(drain() == 100)
        clock.advance(by: .milliseconds(100))
        #expect(drain() == 5, "50/s refills 5 in 100 ms")
        clock.advance(by: .seconds(60))
        #expect(drain() == 100, "refilled to the burst, not beyond")
    }

    @Test("throttle: a flood logs the burst, then the rate, and notes what it held back once per interval")
    func throttle() {
        let clock = ManualClock()
        var throttle = OutputThrottle(burst: 100, linesPerSecond: 50, noteInterval: .seconds(5), now: clock.now)
        var logged = 0
        var noted = 0
        var notes = 0
        // 10,000 lines a second for 10 s.
        for _ in 0..<10 {
            for _ in 0..<100 {
                for _ in 0..<100 {
                    let decision = throttle.admit(now: clock.now)
                    if decision.log { logged += 1 }
                    if let count = decision.noteSuppressed {
                        noted += count
                        notes += 1
                    }
                }
                clock.advance(by: .milliseconds(10))
            }
        }
        #expect(notes == 1, "one note per 5 s of flood: at 5 s (the last lines came at 9.99 s)")
        noted += throttle.flush(now: clock.now) ?? 0
        #expect(logged == 100 + 50 * 10 - 1, "the burst, then 50/s (refilled at each of the 999 later steps)")
        #expect(noted == 100_000 - logged, "every held-back line is noted exactly once")
        #expect(throttle.flush(now: clock.now) == nil)
    }

    @Test("throttle: a quiet process is never held back and never noted")
    func quiet() {
        let clock = ManualClock()
        var throttle = OutputThrottle(burst: 100, linesPerSecond: 50, noteInterval: .seconds(5), now: clock.now)
        for _ in 0..<1_000 {
            #expect(throttle.admit(now: clock.now) == .init(log: true, noteSuppressed: nil))
            clock.advance(by: .milliseconds(25))
        }
        #expect(throttle.flush(now: clock.now) == nil)
    }
}
