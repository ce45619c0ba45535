#if canImport(Glibc)
import Glibc
#endif
import ProcmgrSupport

/// The `Date` response header (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), formatted
/// when a response needs it and reused within the same second.
///
/// Why not Hummingbird's `DateCache`: it reformats the date on a 1 Hz timer whether or not
/// anyone asks, an `AsyncTimerSequence` merged with graceful shutdown plus Foundation date
/// formatting, ~0.05 % of a core — as much as the whole rest of an idle agent with 1,000
/// children. Prometheus scrapes every 15 s, so formatting on demand does the same work at most
/// once a second and nothing at all in between.
final class HTTPDateHeader: Sendable {
    private struct Cached {
        var second: Int = .min
        var text: String = ""
    }

    private let cache = LockedState(Cached())

    /// The header value for now.
    func current() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return value(atUnixSecond: Int(now.tv_sec))
    }

    /// The header value for a Unix time; cached per second.
    func value(atUnixSecond second: Int) -> String {
        if let text = cache.withLock({ $0.second == second ? $0.text : nil }) { return text }
        let text = Self.format(unixSecond: second)
        cache.withLock { $0 = Cached(second: second, text: text) }
        return text
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// IMF-fixdate of a Unix time, in UTC (`gmtime_r`: no time zone, locale or Foundation).
    static func format(unixSecond: Int) -> String {
        var time = time_t(unixSecond)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "Thu, 01 Jan 1970 00:00:00 GMT" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(Int(parts.tm_year) + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
