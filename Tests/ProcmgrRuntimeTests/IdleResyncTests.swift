import ProcmgrRuntime
import Testing

@Suite("Idle resync pace")
struct IdleResyncTests {
    @Test("600 s per program up to 300 programs; beyond, one idle resync every 2 s across the agent")
    func scalesWithPrograms() {
        #expect(ProcessRuntime.idleResyncInterval(programs: 0) == .seconds(600))
        #expect(ProcessRuntime.idleResyncInterval(programs: 300) == .seconds(600))
        #expect(ProcessRuntime.idleResyncInterval(programs: 1_000) == .seconds(2_000))
        #expect(ProcessRuntime.idleResyncInterval(programs: 10_000) == .seconds(20_000))
        for programs in [1_000, 5_000, 10_000] {
            // Average interval 1.25× the base (jitter 1…1.5): resyncs per second across the agent.
            let perSecond = Double(programs) / (1.25 * ProcessRuntime.idleResyncInterval(programs: programs).seconds)
            #expect(perSecond <= 0.5, "\(programs) programs: \(perSecond) idle resyncs per second")
        }
    }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
