import ProcmgrConfig
import ProcmgrEngine
import ProcmgrHTTP
import ProcmgrRuntime
import Testing

@testable import ProcmgrAgent

/// The events' pinned fields and the one line `procmgr events` prints, for the cases the agent
/// tests do not reach (signals, core dumps, the wait outcomes, a multi-line config problem).
struct LifecycleEventWordingTests {
    @Test("exit descriptions: exit code, signal number and short name, core dump, unknown")
    func exitDescriptions() {
        #expect(AgentEvent.exitDescription(.exited(code: 1)) == "exit 1")
        #expect(AgentEvent.exitDescription(.signaled(signal: 9, coreDumped: false)) == "signal 9 (KILL)")
        #expect(AgentEvent.exitDescription(.signaled(signal: 6, coreDumped: true)) == "signal 6 (ABRT, core dumped)")
        #expect(AgentEvent.exitDescription(.unknown) == "unknown")
    }

    @Test("state: created, a plain transition, a termination with its reason")
    func stateMessages() {
        let created = AgentEvent.state(StateTransition(process: "api", from: nil, to: .starting))
        #expect(created.message == "api: created (starting)" && created.from == nil && created.to == "starting")
        #expect(AgentEvent.state(StateTransition(process: "api", from: .starting, to: .running)).message == "api: starting → running")
        let stopping = AgentEvent.state(StateTransition(process: "api", from: .running, to: .terminating, reason: "requested"))
        #expect(stopping.message == "api: running → terminating (requested)" && stopping.reason == "requested")
    }

    @Test("a startup probe failing, liveness passing; restarts without a count")
    func probeAndRestart() {
        let startup = AgentEvent.probe(process: "db", flip: ProbeFlip(probe: .startup, passing: false, lastResult: "timeout"))
        #expect(startup.message == "db: startup probe failing (last check: timeout)" && startup.result == "failure" && startup.probe == "startup")
        let restart = AgentEvent.restart(process: "db", reason: .liveness, restarts: nil)
        #expect(restart.message == "db: restarting (reason: liveness)" && restart.restarts == nil)
    }

    @Test("dependency waits end satisfied, cancelled or superseded; the condition is its config name")
    func dependencyWaits() {
        let waiting = WaitingFor(id: "job", condition: .completedSuccessfully, since: 0)
        let began = AgentEvent.dependencyWait(DependencyWaitChange(process: "web", dependency: waiting, end: nil))
        #expect(began.message == "web: waiting for job to complete successfully" && began.condition == "completed_successfully")
        #expect(began.waiting == true && began.reason == nil)
        let superseded = AgentEvent.dependencyWait(DependencyWaitChange(process: "web", dependency: waiting, end: .superseded))
        #expect(superseded.message == "web: done waiting for job to complete successfully (config changed)" && superseded.waiting == false)
    }

    @Test("a rejected reload lists its problems on one line; every trigger maps to a source")
    func reloads() {
        let rejected = AgentEvent.reload(applied: false, problems: ["a: bad\nvalue", "b: missing"], source: .signal)
        #expect(rejected.message == "config rejected (source: signal): a: bad value; b: missing")
        #expect(rejected.problems == ["a: bad\nvalue", "b: missing"] && rejected.result == "rejected")
        #expect(ReloadTrigger.allCases.map { ReloadSource($0).rawValue } == ["file", "api", "file", "signal", "admin", "admin", "fleet", "fleet"])
        #expect(AgentEvent.scale(process: "web", replicas: 1).message == "web: scaled to 1 replica")
    }
}
