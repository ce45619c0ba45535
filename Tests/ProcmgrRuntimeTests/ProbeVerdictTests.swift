@testable import ProcmgrRuntime
import Testing

private func probe(failures: Int = 3, successes: Int = 1) -> ProbeSettings {
    ProbeSettings(action: .exec(command: ["true"]), failureThreshold: failures, successThreshold: successes)
}

@Suite("Probe verdict (kubelet semantics across the three probes)")
struct ProbeVerdictTests {
    @Test("startup holds liveness and readiness until it passes once, then is never checked again")
    func startupHoldsTheOthers() {
        var verdict = ProbeVerdict(liveness: probe(), readiness: probe(), startup: probe(failures: 3))
        #expect(verdict.activeKinds == [.startup])
        #expect(!verdict.startupPassed && !verdict.ready && !verdict.healthy)
        #expect(verdict.record(.liveness, .failure).isEmpty, "liveness is not active before startup passed")
        #expect(verdict.record(.startup, .failure).isEmpty)
        #expect(verdict.record(.startup, .success) == [.startupPassed])
        #expect(verdict.activeKinds == [.liveness, .readiness])
        #expect(verdict.record(.startup, .failure).isEmpty, "startup is done for this child")
        #expect(verdict.record(.liveness, .success) == [.healthy(true)])
        #expect(verdict.record(.readiness, .success) == [.ready(true)])
        #expect(verdict.healthy && verdict.ready)
    }

    @Test("startup failing failure_threshold times in a row restarts with reason startup; nothing is checked after")
    func startupFails() {
        var verdict = ProbeVerdict(liveness: probe(), readiness: nil, startup: probe(failures: 2))
        #expect(verdict.record(.startup, .timeout).isEmpty)
        #expect(verdict.record(.startup, .failure) == [.restart(.startup)])
        #expect(verdict.activeKinds.isEmpty)
        #expect(!verdict.startupPassed)
    }

    @Test("liveness failing restarts with reason liveness; readiness failing only clears ready")
    func livenessAndReadiness() {
        var verdict = ProbeVerdict(liveness: probe(failures: 2), readiness: probe(failures: 1, successes: 2), startup: nil)
        #expect(verdict.startupPassed, "no startup probe: passed")
        #expect(verdict.record(.readiness, .success).isEmpty, "success_threshold 2")
        #expect(verdict.record(.readiness, .success) == [.ready(true)])
        #expect(verdict.record(.readiness, .failure) == [.ready(false)])
        #expect(verdict.record(.readiness, .success).isEmpty)
        #expect(verdict.record(.readiness, .success) == [.ready(true)])
        #expect(verdict.record(.liveness, .success) == [.healthy(true)])
        #expect(verdict.record(.liveness, .failure).isEmpty)
        #expect(verdict.record(.liveness, .timeout) == [.healthy(false), .restart(.liveness)])
        #expect(verdict.activeKinds.isEmpty, "a restarting child is not probed")
    }

    @Test("success_threshold counts for liveness too (healthy only after that many successes)")
    func livenessSuccessThreshold() {
        var verdict = ProbeVerdict(liveness: probe(successes: 2), readiness: nil, startup: nil)
        #expect(verdict.record(.liveness, .success).isEmpty)
        #expect(verdict.record(.liveness, .success) == [.healthy(true)])
    }

    @Test("without probes a child is started up, ready and healthy")
    func noProbes() {
        let verdict = ProbeVerdict(liveness: nil, readiness: nil, startup: nil)
        #expect(verdict.startupPassed && verdict.ready && verdict.healthy)
        #expect(verdict.activeKinds.isEmpty)
    }
}
