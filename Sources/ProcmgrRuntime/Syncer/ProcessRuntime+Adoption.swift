import Glibc
public import ProcmgrEngine

/// `orphans: adopt` — children keep running across an agent restart and the next agent takes
/// them over instead of starting them again, as kubelet does with pods.
///
/// The sequence an agent follows:
/// 1. ``loadAdoptable()`` once at startup, before the first update reaches the engine: it reads
///    the state file, keeps each child whose pid still runs with the recorded start time (a
///    recycled pid is never adopted), and re-reserves their ports so no new process gets them.
/// 2. The first reconcile: the first `syncProcess` of a process id adopts its child — pidfd
///    exit watching, output FIFOs reopened, health probes — when the config's
///    ``ManagedProcess/fingerprint`` is the recorded one; otherwise it adopts it only to restart
///    it with reason `config`. A child with a heartbeat or sd_notify is restarted too: its socket
///    died with the old agent.
/// 3. ``sweepUnclaimedAdoptable(keeping:)`` right after the first reconcile handed the desired
///    set to the engine: children of processes no longer configured are killed.
extension ProcessRuntime {
    /// Reads what a previous agent left and keeps the live children for adoption. Returns them.
    /// Does nothing (returns `[]`) unless the services adopt children.
    @discardableResult
    public func loadAdoptable() throws(SystemError) -> [ChildRecord] {
        guard services.adoptionOutputDirectory != nil, let stateFile = services.stateFile else { return [] }
        let (found, stale) = try OrphanSweeper.adopt(stateFile: stateFile.path, logger: logger)
        for record in stale { record.adoptableOutput?.remove() }
        var claimable: [OrphanSweeper.AdoptedProcess] = []
        var unclaimable: [OrphanSweeper.AdoptedProcess] = []
        for process in found {
            do {
                if let port = process.record.port { try services.ports.reserve(adopted: port) }
                claimable.append(process)
            } catch {
                logger.error("cannot adopt: port conflict", metadata: ["process": "\(process.record.name)", "pid": "\(process.record.pid)", "error": "\(error)"])
                unclaimable.append(process)
            }
        }
        // The new agent's file starts as the old one minus the dead, so a crash before the
        // sweep still leaves a complete list behind.
        try stateFile.replaceAll(found.map(\.record))
        adoptable.withLock { $0 = Adoptable(claimable: claimable, unclaimable: unclaimable) }
        logger.notice("children to adopt", metadata: ["count": "\(claimable.count)", "stale": "\(stale.count)"])
        return claimable.map(\.record)
    }

    /// Kills (SIGKILL to the group) the children a previous agent left whose process id is not in
    /// `desired`, and every child that cannot be adopted. Call it once, after the first reconcile
    /// handed `desired` (the ids of the first config) to the engine; children of desired ids are
    /// adopted by their first sync, or swept when the id is terminated before that. Returns
    /// what was swept.
    @discardableResult
    public func sweepUnclaimedAdoptable(keeping desired: some Sequence<ProcessID>) async -> [ChildRecord] {
        let keep = Set(desired)
        let doomed = adoptable.withLock { adoptable -> [OrphanSweeper.AdoptedProcess] in
            let doomed = adoptable.unclaimable + adoptable.claimable.filter { !keep.contains($0.record.name) }
            adoptable.claimable.removeAll { !keep.contains($0.record.name) }
            adoptable.unclaimable = []
            return doomed
        }
        for process in doomed { await sweep(process) }
        return doomed.map(\.record)
    }

    /// The child a previous agent left for `id`, taken out of the list (at most once).
    func claimAdoptable(_ id: ProcessID) -> OrphanSweeper.AdoptedProcess? {
        adoptable.withLock { adoptable in
            guard let index = adoptable.claimable.firstIndex(where: { $0.record.name == id }) else { return nil }
            return adoptable.claimable.remove(at: index)
        }
    }

    /// Makes an adopted child the process's running child. Its exit status will be `unknown`
    /// (it is not our child), and its run time for the backoff reset counts from now.
    func adopt(_ process: OrphanSweeper.AdoptedProcess, id: ProcessID, config: ManagedProcess) {
        let record = process.record
        let handle = process.handle(watcher: services.watcher)
        update(id) { $0.port = record.port }
        let output = record.adoptableOutput
        var ends: (stdout: Int32, stderr: Int32)?
        do {
            ends = try output?.openForAgent()
        } catch {
            logger.warning("adopted child's output cannot be reopened", metadata: ["process": "\(id)", "error": "\(error)"])
        }
        // Its cgroup is the one the previous agent made for the same process (same subtree name).
        let cgroup: ProcessCgroup?
        do {
            cgroup = try processCgroup(id, limits: config.execution.cgroupLimits)
        } catch {
            cgroup = nil
            logger.warning("adopted child's cgroup cannot be reopened; stopped by its process group only", metadata: ["process": "\(id)", "error": "\(error)"])
        }
        let child = RunningChild(
            spawned: SpawnedProcess(handle: handle, stdoutFD: nil, stderrFD: nil), config: config,
            startedAt: ContinuousClock().now, heartbeat: nil, adoptableOutput: output, cgroup: cgroup,
            oomKillsAtStart: cgroup?.oomKills() ?? 0)
        do {
            try began(id, child: child, stdout: ends?.stdout, stderr: ends?.stderr)
        } catch {
            // The child is not ours to kill for a missing log file: capture without it (so its
            // FIFOs are drained), and say so.
            metrics.error(id, phase: .spawn)
            logger.error("adopted child's output file cannot be opened; capturing without it", metadata: ["process": "\(id)", "error": "\(error)"])
            do {
                ends = try output?.openForAgent()
                try began(id, child: child, stdout: ends?.stdout, stderr: ends?.stderr, captureFile: false)
            } catch {
                logger.error("adopted child's output cannot be captured", metadata: ["process": "\(id)", "error": "\(error)"])
            }
        }
        let restart = record.configFingerprint != config.fingerprint || config.heartbeat != nil || config.notify != nil
        if restart {
            update(id) { _ = $0.policy.handle(.configChanged, rules: Policy.Rules(config), now: .now, random: random()) }
        }
        logger.notice("adopted", metadata: ["process": "\(id)", "pid": "\(record.pid)", "restart": "\(restart ? RestartReason.config.rawValue : "no")"])
    }

    /// Kills one leftover group and forgets it: state file, port, FIFOs.
    func sweep(_ process: OrphanSweeper.AdoptedProcess) async {
        let record = process.record
        let result = await services.stopper.stop(process.handle(watcher: services.watcher), signal: SIGKILL, grace: .zero)
        services.stateFile?.forget(pid: record.pid)
        if let port = record.port { services.ports.release(port) }
        record.adoptableOutput?.remove()
        logger.notice("swept a child nobody adopted", metadata: ["process": "\(record.name)", "pid": "\(record.pid)", "outcome": "\(result.outcome.rawValue)"])
    }
}

/// Children a previous agent left (see ``ProcessRuntime/loadAdoptable()``).
struct Adoptable: Sendable {
    /// Waiting for the first sync of their process id.
    var claimable: [OrphanSweeper.AdoptedProcess] = []
    /// Never adopted (their port is taken): swept.
    var unclaimable: [OrphanSweeper.AdoptedProcess] = []
}
