/// What a process has told procmgr over its NOTIFY_SOCKET, and its watchdog: systemd's handling
/// of sd_notify assignments (`service_notify_message`) as a value type, timed by an injected
/// CLOCK_MONOTONIC reading in nanoseconds so it is tested without a socket or a clock.
///
/// Decisions that follow systemd:
/// - The watchdog counts from the spawn (`init(watchdog:startedAt:)`), then from each
///   `WATCHDOG=1`; `WATCHDOG=trigger` fails at once, with or without a configured watchdog;
///   `WATCHDOG_USEC=N` replaces the interval and restarts the count (0 turns it off).
/// - `READY=1` ends a reload; `STOPPING=1` clears ready (a stopping program takes no traffic).
/// - `STATUS=` empty clears the status; a status is kept to ``statusLimit`` characters.
/// - `EXTEND_TIMEOUT_USEC=N` pushes the watchdog's deadline to at least N µs from now. procmgr
///   has no start timeout for `READY=1` (a dependent simply waits), so the watchdog is the
///   only timeout it can extend; the next `WATCHDOG=1` returns to the normal interval.
/// - `MAINPID=` is ignored (procmgr watches the whole process group, not one pid); unknown
///   keys are ignored, as systemd ignores them.
struct NotifyProtocol: Sendable {
    /// Why the watchdog failed.
    enum WatchdogFailure: Sendable, Hashable {
        /// No `WATCHDOG=1` within the interval (nanoseconds).
        case missed(intervalNanoseconds: UInt64)
        /// The program sent `WATCHDOG=trigger`.
        case triggered
    }

    /// Worth a log line (rare assignments; nothing a flood of ordinary messages produces).
    enum Note: Sendable, Hashable {
        case stopping
        case reloading
        case mainPIDIgnored(String)
        case errno(Int32)
        case invalidValue(key: String)
    }

    /// What applying one message changed that the owner must act on.
    struct Effects: Sendable {
        var readyChanged: Bool?
        var watchdogFailure: WatchdogFailure?
        /// ``watchdogDeadline`` moved (re-arm or cancel the timer).
        var deadlineChanged = false
        var notes: [Note] = []
    }

    static let statusLimit = 512

    private(set) var ready = false
    private(set) var status: String?
    private(set) var stopping = false
    private(set) var reloading = false
    private(set) var errorNumber: Int32?
    private(set) var watchdogInterval: UInt64?
    /// When the watchdog fails unless fed; nil while it is off or after it failed.
    private(set) var watchdogDeadline: UInt64?
    /// The watchdog failed once; it stays silent from then on (the program is being restarted).
    private(set) var watchdogFailed = false

    init(watchdog: Duration?, startedAt now: UInt64) {
        if let watchdog, watchdog > .zero {
            watchdogInterval = watchdog.nanoseconds
            watchdogDeadline = Self.after(now, watchdog.nanoseconds)
        }
    }

    mutating func apply(_ message: NotifyMessage, now: UInt64) -> Effects {
        var effects = Effects()
        for (key, value) in message.assignments {
            switch key {
            case "READY" where value == "1":
                reloading = false
                setReady(true, &effects)
            case "STOPPING" where value == "1":
                stopping = true
                setReady(false, &effects)
                effects.notes.append(.stopping)
            case "RELOADING" where value == "1":
                reloading = true
                effects.notes.append(.reloading)
            case "STATUS":
                status = value.isEmpty ? nil : String(value.prefix(Self.statusLimit))
            case "ERRNO":
                guard let number = Int32(value), number >= 0 else {
                    effects.notes.append(.invalidValue(key: String(key)))
                    continue
                }
                errorNumber = number
                effects.notes.append(.errno(number))
            case "MAINPID":
                effects.notes.append(.mainPIDIgnored(String(value.prefix(32))))
            case "WATCHDOG" where value == "1":
                guard let interval = watchdogInterval, !watchdogFailed else { continue }
                setDeadline(Self.after(now, interval), &effects)
            case "WATCHDOG" where value == "trigger":
                fail(.triggered, &effects)
            case "WATCHDOG_USEC":
                guard let nanoseconds = Self.nanoseconds(microseconds: value) else {
                    effects.notes.append(.invalidValue(key: String(key)))
                    continue
                }
                guard !watchdogFailed else { continue }
                watchdogInterval = nanoseconds == 0 ? nil : nanoseconds
                setDeadline(nanoseconds == 0 ? nil : Self.after(now, nanoseconds), &effects)
            case "EXTEND_TIMEOUT_USEC":
                guard let nanoseconds = Self.nanoseconds(microseconds: value) else {
                    effects.notes.append(.invalidValue(key: String(key)))
                    continue
                }
                if let deadline = watchdogDeadline, Self.after(now, nanoseconds) > deadline { setDeadline(Self.after(now, nanoseconds), &effects) }
            default:
                continue
            }
        }
        return effects
    }

    /// The watchdog's timer fired at `now`: a failure when the deadline has passed (a timer
    /// that fires early, or for a deadline since moved, changes nothing).
    mutating func watchdogTimerFired(now: UInt64) -> WatchdogFailure? {
        guard let deadline = watchdogDeadline, now >= deadline, let interval = watchdogInterval else { return nil }
        var effects = Effects()
        fail(.missed(intervalNanoseconds: interval), &effects)
        return effects.watchdogFailure
    }

    private mutating func setReady(_ value: Bool, _ effects: inout Effects) {
        guard ready != value else { return }
        ready = value
        effects.readyChanged = value
    }

    private mutating func setDeadline(_ deadline: UInt64?, _ effects: inout Effects) {
        watchdogDeadline = deadline
        effects.deadlineChanged = true
    }

    private mutating func fail(_ failure: WatchdogFailure, _ effects: inout Effects) {
        guard !watchdogFailed else { return }
        watchdogFailed = true
        effects.watchdogFailure = failure
        setDeadline(nil, &effects)
    }

    /// `now + delta`, saturating (a huge `WATCHDOG_USEC` means "practically never", not a wrap).
    static func after(_ now: UInt64, _ delta: UInt64) -> UInt64 {
        let (sum, overflow) = now.addingReportingOverflow(delta)
        return overflow ? .max : sum
    }

    /// A decimal count of microseconds in nanoseconds, saturating; nil when not a number.
    static func nanoseconds(microseconds text: Substring) -> UInt64? {
        guard let microseconds = UInt64(text) else { return nil }
        let (product, overflow) = microseconds.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : product
    }
}
