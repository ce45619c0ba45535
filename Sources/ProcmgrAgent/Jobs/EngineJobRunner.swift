import Foundation
import ProcmgrEngine
import ProcmgrRuntime
import ProcmgrSupport

/// Runs scheduled jobs on the agent's engine: a run is the job's worker created anew (as
/// `POST …/restart` does for a finished process), watched until it finishes to count its result.
final class EngineJobRunner: JobRunner {
    private let engine: AgentEngine
    private let runtime: ProcessRuntime
    private let metrics: JobMetrics
    private let clock: any JobClock
    /// The job's current desired config; `nil` once it is no longer configured.
    private let config: @Sendable (String) -> ManagedProcess?
    /// Per job: runs started, and the run (by that count) being replaced, whose end is counted
    /// `replaced` rather than by its exit status.
    private let runs = LockedState<(started: [String: Int], replaced: [String: Int])>(([:], [:]))

    init(engine: AgentEngine, runtime: ProcessRuntime, metrics: JobMetrics, clock: any JobClock,
         config: @escaping @Sendable (String) -> ManagedProcess?) {
        self.engine = engine
        self.runtime = runtime
        self.metrics = metrics
        self.clock = clock
        self.config = config
    }

    func isRunning(_ id: String) -> Bool {
        engine.status(of: id).map { $0.state < .finished } ?? false
    }

    func start(_ id: String) {
        guard let config = config(id) else { return }
        let run = runs.withLock { runs -> Int in
            runs.started[id, default: 0] += 1
            return runs.started[id, default: 0]
        }
        engine.update(id, config: config, type: .create)
        Task { await self.count(id, run: run) }
    }

    /// The next run starts once the replaced one is gone (its grace period at most): one run of
    /// a job at a time, even while replacing.
    func replace(_ id: String) {
        let run = runs.withLock { runs -> Int in
            let current = runs.started[id, default: 0]
            runs.replaced[id] = current
            return current
        }
        engine.terminate(id, reason: "replaced by the next scheduled run (concurrency: replace)")
        Task {
            if await self.engine.waitUntil(id, reaches: .finished) != nil, self.config(id) != nil {
                self.metrics.record(id, .replaced, at: self.clock.now().timeIntervalSince1970)
            }
            self.runs.withLock { runs in
                if runs.replaced[id] == run { runs.replaced[id] = nil }
            }
            self.start(id)
        }
    }

    private func count(_ id: String, run: Int) async {
        guard await engine.waitUntil(id, reaches: .finished) != nil, config(id) != nil else { return }
        let replaced = runs.withLock { $0.replaced[id] == run }
        guard !replaced else { return }
        let succeeded = runtime.lastExitStatus(of: id)?.isSuccess == true
        metrics.record(id, succeeded ? .success : .failure, at: clock.now().timeIntervalSince1970)
    }
}
