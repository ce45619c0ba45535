@testable import ProcmgrRuntime
import Testing

private func message(_ text: String) -> NotifyMessage? {
    Array(text.utf8).withUnsafeBytes { NotifyMessage($0) }
}

private func apply(_ proto: inout NotifyProtocol, _ text: String, at now: UInt64) throws -> NotifyProtocol.Effects {
    let parsed = try #require(message(text), "\(text) parses")
    return proto.apply(parsed, now: now)
}

private let second: UInt64 = 1_000_000_000

@Suite("sd_notify protocol (no socket)")
struct NotifyProtocolTests {
    @Test("datagrams parse as KEY=VALUE lines; no '=', a NUL or invalid UTF-8 make the whole datagram malformed")
    func parsing() throws {
        let parsed = try #require(message("READY=1\nSTATUS=a=b c\n\n"))
        #expect(parsed.assignments.map { "\($0.key)|\($0.value)" } == ["READY|1", "STATUS|a=b c"])
        #expect(message("READY=1\nno equals sign") == nil)
        #expect(message("=value") == nil, "an empty key")
        #expect(message("READY=1\u{0}STATUS=x") == nil)
        #expect([UInt8]([0x53, 0x3D, 0xFF, 0xFE]).withUnsafeBytes { NotifyMessage($0) } == nil)
        #expect(message("")?.assignments.isEmpty == true, "an empty datagram carries nothing")
    }

    @Test("READY=1 and STOPPING=1 flip ready once each; STATUS= is kept, bounded, and cleared when empty")
    func readyAndStatus() throws {
        var proto = NotifyProtocol(watchdog: nil, startedAt: 0)
        let becameReady = try apply(&proto, "READY=1\nSTATUS=serving", at: 1)
        #expect(becameReady.readyChanged == true)
        #expect(proto.ready && proto.status == "serving")
        let readyAgain = try apply(&proto, "READY=1", at: 2)
        #expect(readyAgain.readyChanged == nil, "only a change is reported")
        let readyZero = try apply(&proto, "READY=0", at: 2)
        #expect(readyZero.readyChanged == nil, "only READY=1 means anything")
        let stopping = try apply(&proto, "STOPPING=1", at: 3)
        #expect(stopping.readyChanged == false && stopping.notes == [.stopping])
        #expect(!proto.ready && proto.stopping)
        _ = try apply(&proto, "STATUS=" + String(repeating: "x", count: 3000), at: 4)
        #expect(proto.status?.count == NotifyProtocol.statusLimit)
        _ = try apply(&proto, "STATUS=", at: 5)
        #expect(proto.status == nil)
    }

    @Test("RELOADING=1 is noted and READY=1 ends it; MAINPID= is ignored; ERRNO= kept; bad numbers noted")
    func notes() throws {
        var proto = NotifyProtocol(watchdog: nil, startedAt: 0)
        let reloading = try apply(&proto, "RELOADING=1", at: 1)
        #expect(reloading.notes == [.reloading])
        #expect(proto.reloading)
        _ = try apply(&proto, "READY=1", at: 2)
        #expect(!proto.reloading)
        let mainPID = try apply(&proto, "MAINPID=4242", at: 3)
        #expect(mainPID.notes == [.mainPIDIgnored("4242")])
        let reportedErrno = try apply(&proto, "ERRNO=2", at: 4)
        #expect(reportedErrno.notes == [.errno(2)])
        #expect(proto.errorNumber == 2)
        let invalid = try apply(&proto, "ERRNO=x\nWATCHDOG_USEC=-1\nEXTEND_TIMEOUT_USEC=soon", at: 5)
        #expect(invalid.notes
            == [.invalidValue(key: "ERRNO"), .invalidValue(key: "WATCHDOG_USEC"), .invalidValue(key: "EXTEND_TIMEOUT_USEC")])
        let unknown = try apply(&proto, "FDSTORE=1\nX_CUSTOM=1", at: 6)
        #expect(unknown.notes.isEmpty, "unknown keys are ignored, as systemd does")
    }

    @Test("the watchdog counts from the spawn, WATCHDOG=1 restarts the count, a miss fails once")
    func watchdog() throws {
        var proto = NotifyProtocol(watchdog: .seconds(2), startedAt: 10 * second)
        #expect(proto.watchdogDeadline == 12 * second)
        let early = proto.watchdogTimerFired(now: 11 * second)
        #expect(early == nil, "early: nothing")
        let fed = try apply(&proto, "WATCHDOG=1", at: 11 * second)
        #expect(fed.deadlineChanged)
        #expect(proto.watchdogDeadline == 13 * second)
        let stale = proto.watchdogTimerFired(now: 12 * second)
        #expect(stale == nil, "a timer for the old deadline changes nothing")
        let missed = proto.watchdogTimerFired(now: 13 * second)
        #expect(missed == .missed(intervalNanoseconds: 2 * second))
        #expect(proto.watchdogDeadline == nil && proto.watchdogFailed)
        let again = proto.watchdogTimerFired(now: 20 * second)
        #expect(again == nil, "fails once")
        let fedAfterFailure = try apply(&proto, "WATCHDOG=1", at: 21 * second)
        #expect(fedAfterFailure.deadlineChanged == false, "silent after a failure")
    }

    @Test("WATCHDOG=trigger fails at once, even without a configured watchdog")
    func trigger() throws {
        var proto = NotifyProtocol(watchdog: nil, startedAt: 0)
        let unwatched = try apply(&proto, "WATCHDOG=1", at: 1)
        #expect(unwatched.deadlineChanged == false, "no watchdog: WATCHDOG=1 is nothing")
        let triggered = try apply(&proto, "WATCHDOG=trigger", at: 2)
        #expect(triggered.watchdogFailure == .triggered)
        let triggeredAgain = try apply(&proto, "WATCHDOG=trigger", at: 3)
        #expect(triggeredAgain.watchdogFailure == nil)
    }

    @Test("WATCHDOG_USEC= replaces the interval (0 turns it off); EXTEND_TIMEOUT_USEC= only ever pushes the deadline out")
    func intervalAndExtension() throws {
        var proto = NotifyProtocol(watchdog: .seconds(1), startedAt: 0)
        _ = try apply(&proto, "WATCHDOG_USEC=5000000", at: 1 * second)
        #expect(proto.watchdogInterval == 5 * second && proto.watchdogDeadline == 6 * second)
        _ = try apply(&proto, "EXTEND_TIMEOUT_USEC=1000000", at: 2 * second)
        #expect(proto.watchdogDeadline == 6 * second, "an extension shorter than what is left changes nothing")
        _ = try apply(&proto, "EXTEND_TIMEOUT_USEC=30000000", at: 2 * second)
        #expect(proto.watchdogDeadline == 32 * second)
        _ = try apply(&proto, "WATCHDOG=1", at: 3 * second)
        #expect(proto.watchdogDeadline == 8 * second, "the next WATCHDOG=1 returns to the interval")
        _ = try apply(&proto, "WATCHDOG_USEC=18446744073709551615", at: 4 * second)
        #expect(proto.watchdogDeadline == .max, "a huge value saturates instead of wrapping")
        _ = try apply(&proto, "WATCHDOG_USEC=0", at: 5 * second)
        #expect(proto.watchdogInterval == nil && proto.watchdogDeadline == nil)
        var late = NotifyProtocol(watchdog: nil, startedAt: 0)
        _ = try apply(&late, "WATCHDOG_USEC=1000", at: 7)
        #expect(late.watchdogDeadline == 1_000_007, "a program may turn the watchdog on itself, as under systemd")
    }
}
