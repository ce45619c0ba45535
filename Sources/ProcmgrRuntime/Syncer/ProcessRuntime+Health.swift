import ProcmgrEngine

/// A health probe loop to run for one child.
struct HealthJob: Sendable {
    let id: ProcessID
    let pid: Int32
    let exit: ExitFuture
    let port: Int
    let settings: HealthProbeSettings
}

extension ProcessRuntime {
    /// Probes one child every `interval` until it stops, is replaced, or turns unhealthy. Each
    /// result is counted; crossing a threshold flips `procmgr_process_healthy` and the engine's
    /// `healthy`; turning unhealthy asks the engine for a restart with reason `health`, which the
    /// sync backs off like a crash.
    ///
    /// Why the identity check under the lock: the child may exit or be restarted while a probe is
    /// in flight. Only the child this loop was started for, still running (its exit future is
    /// fulfilled before the runtime releases it), may change the health state.
    func monitorHealth(_ job: HealthJob, prober: HealthProber) async {
        let settings = job.settings
        let clock = ContinuousClock()
        var verdict = HealthVerdict(successThreshold: settings.successThreshold, failureThreshold: settings.failureThreshold)
        var next = clock.now.advanced(by: settings.initialDelay)
        while true {
            do {
                try await Task.sleep(until: next, clock: clock)
            } catch {
                return
            }
            guard isCurrent(job) else { return }
            next = clock.now.advanced(by: settings.interval)
            let result = await prober.check(port: job.port, path: settings.path, timeout: settings.timeout)
            if Task.isCancelled { return }
            let transition = verdict.record(result)
            let stillCurrent = instances.withLock { instances -> Bool in
                guard isCurrent(job, in: instances) else { return false }
                metrics.healthChecks.labels([job.id, result.rawValue]).increment()
                if result != .success { metrics.error(job.id, phase: .health) }
                switch transition {
                case .becameHealthy:
                    // The engine is told inside the lock, so gauge, engine and record agree.
                    instances[job.id]?.policy.becameHealthy(at: clock.now)
                    metrics.healthy.labels([job.id]).set(1)
                    hooks.withLock { $0 }?.setHealthy(job.id, true)
                case .becameUnhealthy:
                    if let child = instances[job.id]?.child {
                        _ = instances[job.id]?.policy.handle(.checkFailed(.health), rules: Policy.Rules(child.config), now: clock.now, random: random())
                    }
                    metrics.healthy.labels([job.id]).set(0)
                    hooks.withLock { $0 }?.setHealthy(job.id, false)
                case nil:
                    break
                }
                return true
            }
            guard stillCurrent else { return }
            switch transition {
            case .becameHealthy:
                // A sync now lets the restart backoff start counting toward its reset.
                hooks.withLock { $0 }?.requestSync(job.id)
            case .becameUnhealthy:
                logger.warning("health probe failed \(settings.failureThreshold) times in a row; stopping the program (restart: decides whether it starts again)", metadata: ["process": "\(job.id)", "result": "\(result.rawValue)"])
                hooks.withLock { $0 }?.requestSync(job.id)
                return
            case nil:
                break
            }
        }
    }

    private func isCurrent(_ job: HealthJob) -> Bool {
        instances.withLock { isCurrent(job, in: $0) }
    }

    private func isCurrent(_ job: HealthJob, in instances: [ProcessID: RuntimeInstance]) -> Bool {
        guard let instance = instances[job.id], let child = instance.child else { return false }
        return child.spawned.pid == job.pid && job.exit.value == nil && instance.policy.pending == nil
    }
}
