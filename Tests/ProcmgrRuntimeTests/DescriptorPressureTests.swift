@testable import ProcmgrRuntime
import Testing

@Suite("DescriptorPressure: one circuit breaker for EMFILE at spawn")
struct DescriptorPressureTests {
    let start = ContinuousClock.now

    @Test("no failure: every spawn goes")
    func closedAdmitsAll() {
        var pressure = DescriptorPressure()
        for _ in 0..<3 { #expect(pressure.admit(now: start) == .go) }
        #expect(pressure.finished(.success, now: start) == nil)
        #expect(pressure.finished(.otherFailure, now: start) == nil)
        #expect(!pressure.isPaused)
    }

    @Test("EMFILE pauses every spawn; after the pause one probe goes, the others wait for it")
    func pauseThenSingleProbe() {
        var pressure = DescriptorPressure()
        #expect(pressure.finished(.outOfDescriptors, now: start) == .paused(for: .milliseconds(50)))
        let until = start.advanced(by: .milliseconds(50))
        #expect(pressure.admit(now: start.advanced(by: .milliseconds(10))) == .waitUntil(until))
        let later = start.advanced(by: .milliseconds(60))
        #expect(pressure.admit(now: later) == .go)
        #expect(pressure.admit(now: later) == .waitUntil(later.advanced(by: DescriptorPressure.probePoll)))
        #expect(pressure.finished(.success, now: later) == .resumed)
        #expect(pressure.admit(now: later) == .go)
        #expect(pressure.admit(now: later) == .go)
    }

    @Test("a failing probe doubles the pause, up to 5 s; a success resets it")
    func pauseDoublesAndCaps() {
        var pressure = DescriptorPressure()
        var now = start
        _ = pressure.finished(.outOfDescriptors, now: now)
        var pauses: [Duration] = [pressure.pause]
        for _ in 0..<10 {
            now = now.advanced(by: pressure.pause)
            #expect(pressure.admit(now: now) == .go)
            #expect(pressure.finished(.outOfDescriptors, now: now) == nil, "still the same pause episode: logged once")
            pauses.append(pressure.pause)
        }
        #expect(pauses.prefix(4) == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400)])
        #expect(pauses.last == .seconds(5))
        now = now.advanced(by: pressure.pause)
        #expect(pressure.admit(now: now) == .go)
        #expect(pressure.finished(.success, now: now) == .resumed)
        #expect(pressure.finished(.outOfDescriptors, now: now) == .paused(for: .milliseconds(50)))
    }

    @Test("a probe failing for another reason ends the pause (it was not about descriptors)")
    func otherFailureOfProbeResumes() {
        var pressure = DescriptorPressure()
        _ = pressure.finished(.outOfDescriptors, now: start)
        let later = start.advanced(by: .seconds(1))
        #expect(pressure.admit(now: later) == .go)
        #expect(pressure.finished(.otherFailure, now: later) == .resumed)
        #expect(pressure.admit(now: later) == .go)
    }

    @Test("another failure while paused, with no probe out, changes nothing")
    func otherFailureWithoutProbe() {
        var pressure = DescriptorPressure()
        _ = pressure.finished(.outOfDescriptors, now: start)
        #expect(pressure.finished(.otherFailure, now: start) == nil)
        #expect(pressure.isPaused)
    }
}
