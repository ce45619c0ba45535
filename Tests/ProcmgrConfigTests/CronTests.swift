import Foundation
import Testing
@testable import ProcmgrConfig

@Suite("Cron expressions")
struct CronTests {
    private static let utc = TimeZone(identifier: "UTC")!
    private static let paris = TimeZone(identifier: "Europe/Paris")!

    /// `2026-03-29T01:59:00Z`-style instants.
    private static func date(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    private static func next(_ expression: String, after: String, in zone: TimeZone = utc) throws -> String? {
        let cron = try CronExpression(parsing: expression)
        let formatter = ISO8601DateFormatter()
        return cron.nextFire(after: date(after), in: zone).map { formatter.string(from: $0) }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let expression: String
        let after: String
        let expected: String?
        var zone = "UTC"
        var testDescription: String { "\(expression) after \(after) (\(zone))" }
    }

    static let cases: [Case] = [
        Case(expression: "* * * * *", after: "2026-01-01T00:00:30Z", expected: "2026-01-01T00:01:00Z"),
        Case(expression: "*/5 * * * *", after: "2026-01-01T00:00:00Z", expected: "2026-01-01T00:05:00Z"),
        Case(expression: "1-10/2 * * * *", after: "2026-01-01T00:09:00Z", expected: "2026-01-01T01:01:00Z"),
        Case(expression: "15,45 3 * * *", after: "2026-01-01T03:20:00Z", expected: "2026-01-01T03:45:00Z"),
        Case(expression: "0 0 1 jan *", after: "2026-01-01T00:00:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(expression: "0 12 * * mon-fri", after: "2026-12-04T12:00:00Z", expected: "2026-12-07T12:00:00Z"),  // Fri → Mon
        Case(expression: "0 0 * * 7", after: "2026-12-01T00:00:00Z", expected: "2026-12-06T00:00:00Z"),       // 7 = Sunday
        Case(expression: "0 0 * * 0", after: "2026-12-01T00:00:00Z", expected: "2026-12-06T00:00:00Z"),
        Case(expression: "0 0 29 2 *", after: "2026-01-01T00:00:00Z", expected: "2028-02-29T00:00:00Z"),
        Case(expression: "0 0 30 2 *", after: "2026-01-01T00:00:00Z", expected: nil),
        Case(expression: "0 0 31 4,6,9,11 *", after: "2026-01-01T00:00:00Z", expected: nil),
        // Both day fields restricted: either matches (the 13th, or any Friday).
        Case(expression: "0 0 13 * fri", after: "2026-12-01T00:00:00Z", expected: "2026-12-04T00:00:00Z"),
        Case(expression: "0 0 13 * fri", after: "2026-12-11T00:00:00Z", expected: "2026-12-13T00:00:00Z"),
        // A starred day field: both must match (Fridays among odd days).
        Case(expression: "0 0 */2 * fri", after: "2026-12-01T00:00:00Z", expected: "2026-12-11T00:00:00Z"),
        Case(expression: "@hourly", after: "2026-01-01T00:00:00Z", expected: "2026-01-01T01:00:00Z"),
        Case(expression: "@daily", after: "2026-01-01T00:00:00Z", expected: "2026-01-02T00:00:00Z"),
        Case(expression: "@midnight", after: "2026-01-01T10:00:00Z", expected: "2026-01-02T00:00:00Z"),
        Case(expression: "@weekly", after: "2026-12-01T00:00:00Z", expected: "2026-12-06T00:00:00Z"),
        Case(expression: "@monthly", after: "2026-12-15T00:00:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(expression: "@yearly", after: "2026-12-15T00:00:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(expression: "@annually", after: "2026-12-15T00:00:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(expression: "0 9 * * *", after: "2026-06-01T10:00:00Z", expected: "2026-06-02T07:00:00Z", zone: "Europe/Paris"),
        // Spring forward in Paris (2026-03-29, 02:00 → 03:00): 02:30 does not exist that day.
        Case(expression: "30 2 * * *", after: "2026-03-28T12:00:00Z", expected: "2026-03-30T00:30:00Z", zone: "Europe/Paris"),
        Case(expression: "0 * * * *", after: "2026-03-29T00:30:00Z", expected: "2026-03-29T01:00:00Z", zone: "Europe/Paris"),  // 03:00 CEST
        // Autumn back in Paris (2026-10-25, 03:00 CEST → 02:00 CET): 02:30 happens twice, fires once.
        Case(expression: "30 2 * * *", after: "2026-10-24T12:00:00Z", expected: "2026-10-25T00:30:00Z", zone: "Europe/Paris"),
        Case(expression: "30 2 * * *", after: "2026-10-25T00:30:00Z", expected: "2026-10-26T01:30:00Z", zone: "Europe/Paris"),
        // …but an every-hour expression runs through the repeated hour in real time.
        Case(expression: "*/30 * * * *", after: "2026-10-25T00:30:00Z", expected: "2026-10-25T01:00:00Z", zone: "Europe/Paris"),
        Case(expression: "*/30 * * * *", after: "2026-10-25T01:00:00Z", expected: "2026-10-25T01:30:00Z", zone: "Europe/Paris"),
    ]

    @Test("next fire times", arguments: cases)
    func nextFire(_ testCase: Case) throws {
        let zone = try #require(TimeZone(identifier: testCase.zone))
        #expect(try Self.next(testCase.expression, after: testCase.after, in: zone) == testCase.expected)
    }

    @Test("parse errors name the field", arguments: [
        ("61 * * * *", #"minute "61" is out of range 0-59"#),
        ("* 24 * * *", #"hour "24" is out of range 0-23"#),
        ("* * 0 * *", #"day-of-month "0" is out of range 1-31"#),
        ("* * * 13 *", #"month "13" is out of range 1-12"#),
        ("* * * * 8", #"day-of-week "8" is out of range 0-7"#),
        ("* * * foo *", #"month "foo" is not a number or a name (jan-dec)"#),
        ("*/0 * * * *", #"minute step "0" in "*/0" is not a whole number of at least 1"#),
        ("5-2 * * * *", #"minute range "5-2" runs backwards (write the smaller value first)"#),
        ("1,,2 * * * *", #"minute "1,,2" has an empty list item"#),
        ("* * * * * *", #""* * * * * *" has 6 fields; expected five (minute hour day-of-month month day-of-week) or an alias such as @hourly"#),
    ])
    func parseErrors(_ expression: String, _ message: String) {
        #expect(throws: CronParseError.self) { try CronExpression(parsing: expression) }
        do {
            _ = try CronExpression(parsing: expression)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("names, ranges of names and case do not matter; equal sets are equal expressions")
    func names() throws {
        #expect(try CronExpression(parsing: "0 0 * JAN-mar Sun,SAT") == CronExpression(parsing: "0 0 * 1-3 0,6"))
        #expect(try CronExpression(parsing: "0 0 * * 5-7") == CronExpression(parsing: "0 0 * * 0,5,6"))
        #expect(try CronExpression(parsing: "@daily") == CronExpression(parsing: "0 0 * * *"))
        #expect(try CronExpression(parsing: "@daily").text == "@daily")
    }

    @Test("a search over years is cheap: impossible dates end in nil quickly")
    func searchIsBounded() throws {
        let cron = try CronExpression(parsing: "0 0 30 2 *")
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = cron.nextFire(after: Self.date("2026-01-01T00:00:00Z"), in: Self.paris) }
        // A minute-by-minute scan of 29 years is ~15 million steps; the field skips take a few thousand.
        #expect(elapsed < .seconds(1))
    }
}
