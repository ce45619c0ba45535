import ProcmgrEngine
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The restart policy, driven synchronously with a manual clock: one table of scripts, each a
/// sequence of facts and events with the action every event must produce.
@Suite("Restart policy (state machine)")
struct RestartStateMachineTests {
    typealias Machine = RestartStateMachine<ManualClock.Instant>

    /// One line of a script.
    enum Step: Sendable {
        /// Time moves to `offset` since the script began.
        case at(Duration)
        case started(probed: Bool)
        case healthy
        /// The decided stop (or a termination) finished.
        case stopped
        case event(Machine.Event, Machine.Action)
        /// The failure count the machine holds now.
        case failures(Int)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var policy: RestartPolicy = .always
        let steps: [Step]
        var testDescription: String { name }
    }

    /// 1 s, 2 s, 4 s, capped at 8 s, no jitter; reset after 10 s of running well.
    static let backoff = RestartBackoff(
        delays: Backoff(initial: .seconds(1), maximum: .seconds(8), multiplier: 2, jitter: 0), resetAfter: .seconds(10))

    static let cases: [Case] = [
        Case(name: "first sync starts; a running program with no failures idles", steps: [
            .event(.tick, .start), .started(probed: false), .event(.tick, .resync(.idle)),
        ]),
        Case(name: "always: a crash restarts after the backoff, counted from the end of the stop", steps: [
            .started(probed: false), .at(.seconds(2)),
            .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(1))),
            .at(.seconds(3)), .stopped,
            .event(.tick, .resync(.after(.seconds(1)))),
            .at(.milliseconds(3_500)), .event(.tick, .resync(.after(.milliseconds(500)))),
            .at(.seconds(4)), .event(.tick, .start),
        ]),
        Case(name: "always: a clean exit restarts too", steps: [
            .started(probed: false),
            .event(.exited(.exited(code: 0)), .stopAndRestart(reason: .exit, delay: .seconds(1))),
        ]),
        Case(name: "on-failure: a clean exit ends the worker", policy: .onFailure, steps: [
            .started(probed: false), .event(.exited(.exited(code: 0)), .stopForGood(.exitedCleanly)),
        ]),
        Case(name: "on-failure: a non-zero exit or a signal restarts", policy: .onFailure, steps: [
            .started(probed: false),
            .event(.exited(.exited(code: 3)), .stopAndRestart(reason: .exit, delay: .seconds(1))), .stopped,
            .at(.seconds(1)), .event(.tick, .start), .started(probed: false),
            .event(.exited(.signaled(signal: 9, coreDumped: false)), .stopAndRestart(reason: .exit, delay: .seconds(2))),
        ]),
        Case(name: "never: any exit ends the worker", policy: .never, steps: [
            .started(probed: false), .event(.exited(.exited(code: 0)), .stopForGood(.exitedRestartNever)),
        ]),
        Case(name: "never: a failed health check ends the worker", policy: .never, steps: [
            .started(probed: true), .event(.checkFailed(.liveness), .resync(.now)),
            .event(.tick, .stopForGood(.livenessFailed)),
        ]),
        Case(name: "never: a missed heartbeat ends the worker", policy: .never, steps: [
            .started(probed: false), .event(.checkFailed(.heartbeat), .resync(.now)),
            .event(.tick, .stopForGood(.heartbeatMissed)),
        ]),
        Case(name: "always: a failed check restarts with backoff, like a crash", steps: [
            .started(probed: false), .event(.checkFailed(.heartbeat), .resync(.now)),
            .event(.tick, .stopAndRestart(reason: .heartbeat, delay: .seconds(1))), .failures(1), .stopped,
            .at(.seconds(1)), .event(.tick, .start), .started(probed: true),
            .event(.checkFailed(.liveness), .resync(.now)),
            .event(.tick, .stopAndRestart(reason: .liveness, delay: .seconds(2))), .failures(2),
        ]),
        Case(name: "never: manual and config restarts still start the program, at once", policy: .never, steps: [
            .started(probed: false), .event(.manual, .resync(.now)),
            .event(.tick, .stopAndRestart(reason: .manual, delay: .zero)), .failures(0), .stopped,
            .event(.tick, .start), .started(probed: false),
            .event(.configChanged, .resync(.now)),
            .event(.tick, .stopAndRestart(reason: .config, delay: .zero)), .stopped,
            .event(.tick, .start),
        ]),
        Case(name: "a request with no program running is ignored", steps: [
            .event(.manual, .resync(.idle)), .event(.checkFailed(.liveness), .resync(.idle)), .event(.tick, .start),
        ]),
        Case(name: "the first request wins", steps: [
            .started(probed: false), .event(.manual, .resync(.now)), .event(.checkFailed(.heartbeat), .resync(.now)),
            .event(.configChanged, .resync(.now)), .event(.tick, .stopAndRestart(reason: .manual, delay: .zero)),
        ]),
        Case(name: "an exit wins over a pending request", policy: .never, steps: [
            .started(probed: false), .event(.manual, .resync(.now)),
            .event(.exited(.exited(code: 1)), .stopForGood(.exitedRestartNever)),
        ]),
        Case(name: "crash loop: delays double up to the cap", steps: [
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(1))), .stopped,
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(2))), .stopped,
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(4))), .stopped,
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(8))), .stopped,
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(8))), .failures(5),
        ]),
        Case(name: "running reset_after forgets earlier failures: a resync asks for exactly then", steps: [
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(1))), .stopped,
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(2))), .stopped,
            .started(probed: false), .at(.seconds(4)), .event(.tick, .resync(.after(.seconds(6)))),
            .at(.seconds(10)), .event(.tick, .resync(.idle)), .failures(0),
            .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(1))),
        ]),
        Case(name: "a crash after reset_after starts a new series even without a resync meanwhile", steps: [
            .started(probed: false), .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(1))), .stopped,
            .started(probed: false), .at(.seconds(30)),
            .event(.exited(.exited(code: 1)), .stopAndRestart(reason: .exit, delay: .seconds(1))), .failures(1),
        ]),
        Case(name: "with a probe, running well counts only from healthy", steps: [
            .started(probed: true), .event(.checkFailed(.liveness), .resync(.now)),
            .event(.tick, .stopAndRestart(reason: .liveness, delay: .seconds(1))), .stopped,
            .at(.seconds(1)), .event(.tick, .start), .started(probed: true),
            .at(.seconds(20)), .event(.tick, .resync(.whenHealthy)), .failures(1),
            .healthy, .at(.seconds(25)), .event(.tick, .resync(.after(.seconds(5)))),
            .at(.seconds(30)), .event(.tick, .resync(.idle)), .failures(0),
        ]),
    ]

    @Test("scripts", arguments: cases)
    func script(_ script: Case) {
        let clock = ManualClock()
        let origin = clock.now
        var machine = Machine()
        let rules = Machine.Rules(policy: script.policy, backoff: Self.backoff)
        for (index, step) in script.steps.enumerated() {
            switch step {
            case .at(let offset): clock.advance(to: origin.advanced(by: offset))
            case .started(let probed): machine.started(at: clock.now, probed: probed)
            case .healthy: machine.becameHealthy(at: clock.now)
            case .stopped: machine.stopped(at: clock.now)
            case .failures(let count): #expect(machine.failuresInRow == count, "step \(index)")
            case .event(let event, let expected):
                let action = machine.handle(event, rules: rules, now: clock.now, random: 0.5)
                #expect(action == expected, "step \(index): \(event)")
            }
        }
    }

    @Test("restarts and delays are recorded for the API; the delays list keeps the newest 16")
    func bookkeeping() {
        let clock = ManualClock()
        var machine = Machine()
        let rules = Machine.Rules(policy: .always, backoff: Self.backoff)
        for _ in 0..<20 {
            machine.started(at: clock.now, probed: false)
            _ = machine.handle(.exited(.exited(code: 1)), rules: rules, now: clock.now, random: 0.5)
            machine.stopped(at: clock.now)
            #expect(machine.nextStartAt != nil)
        }
        machine.started(at: clock.now, probed: false)
        _ = machine.handle(.manual, rules: rules, now: clock.now, random: 0.5)
        _ = machine.handle(.tick, rules: rules, now: clock.now, random: 0.5)
        #expect(machine.restarts == 21)
        #expect(machine.restartDelays.count == 16)
        #expect(machine.restartDelays.last == .seconds(8))
        machine.stopped(at: clock.now)
        #expect(machine.nextStartAt == nil, "a manual restart starts at once")
    }

    @Test("the jitter is the injected random value's")
    func jitter() {
        let rules = Machine.Rules(policy: .always, backoff: RestartBackoff(
            delays: Backoff(initial: .seconds(1), maximum: .seconds(8), multiplier: 2, jitter: 0.5), resetAfter: .seconds(10)))
        for (random, expected) in [(0.0, Duration.milliseconds(500)), (0.5, .seconds(1)), (1.0, .milliseconds(1_500))] {
            var machine = Machine()
            machine.started(at: ManualClock().now, probed: false)
            #expect(machine.handle(.exited(.exited(code: 1)), rules: rules, now: ManualClock().now, random: random)
                == .stopAndRestart(reason: .exit, delay: expected))
        }
    }

    @Test("an OOM kill is a failure with reason oom under always and on-failure, and ends the worker under never")
    func oomKill() {
        let clock = ManualClock()
        for (policy, expected) in [
            (RestartPolicy.always, Machine.Action.stopAndRestart(reason: .oom, delay: .seconds(1))),
            (.onFailure, .stopAndRestart(reason: .oom, delay: .seconds(1))),
            (.never, .stopForGood(.oomKilledRestartNever)),
        ] {
            var machine = Machine()
            let rules = Machine.Rules(policy: policy, backoff: Self.backoff)
            machine.started(at: clock.now, probed: false)
            #expect(machine.handle(.oomKilled, rules: rules, now: clock.now, random: 0.5) == expected, "\(policy)")
            #expect(machine.failuresInRow == (policy == .never ? 0 : 1), "\(policy)")
        }
    }
}
