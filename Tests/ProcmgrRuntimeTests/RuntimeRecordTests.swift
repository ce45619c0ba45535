import Glibc
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The runtime's per-process record is changed in place under its lock, never overwritten by a
/// copy a sync took before it waited.
@Suite("Process runtime: the record is updated in place", .timeLimit(.minutes(2)))
struct RuntimeRecordTests {
    @Test("CPU a child burns during its grace period is carried into the total across the restart")
    func cpuBurnedWhileStoppingIsKept() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try await RuntimeHarness.with { h in
            let stopFile = directory + "/stop"
            // On TERM (its sleep dies of it) it spins until the test creates the file, then kills
            // its whole group (a sleep forked just after the TERM would keep the group alive).
            let script = "trap 'while [ ! -e \(stopFile) ]; do :; done; kill -KILL 0' TERM; echo ready; sleep 60 & wait"
            h.manager.update("burner", config: managed(["sh", "-c", script], grace: .seconds(60)), type: .create)
            // The trap must be set before the TERM, or the shell dies of it at once.
            try await eventually("the program runs and set its trap") {
                h.runtime.snapshot(of: "burner")?.pid != nil && h.output(of: "burner") == ["ready"]
            }
            let first = h.runtime.snapshot(of: "burner")?.pid
            #expect(h.runtime.requestRestart(of: "burner"))
            // Each scrape samples the dying group while the sync waits for it to stop: the old
            // sync wrote back the copy it took before the stop, losing every such sample.
            let cpu = #"procmgr_child_cpu_seconds_total{process="burner"}"#
            try await eventually("the stopping program has burned 0.2 s of CPU", timeout: .seconds(60)) { (h.sample(cpu) ?? 0) >= 0.2 }
            let seen = try #require(h.sample(cpu))
            #expect(h.runtime.snapshot(of: "burner")?.pid == first, "still in its grace period")
            close(open(stopFile, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644))
            try await eventually("the program runs again") {
                let pid = h.runtime.snapshot(of: "burner")?.pid
                return pid != nil && pid != first
            }
            let carried = h.runtime.instances.withLock { $0["burner"]?.accumulatedCPUSeconds } ?? 0
            #expect(carried >= seen, "the total carried \(carried) s, less than the \(seen) s already exported")
        }
    }
}
