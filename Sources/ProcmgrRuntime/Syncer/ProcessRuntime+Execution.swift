import Glibc
import ProcmgrEngine

/// The execution context of a program (`user`, `group`, `limits`, `hooks`): its cgroup, its
/// environment as another user, its hooks, and the OOM killer's kills.
extension ProcessRuntime {
    /// Removes the agent's cgroup subtree once every process is gone (a shutdown that leaves
    /// processes for the next agent keeps it).
    public func removeCgroupSubtree() {
        services.cgroups?.removeIfEmpty()
    }

    /// Why processes run without cgroups (`nil` when they have them, or were not given any).
    public var cgroupFallbackReason: String? { services.cgroupFallbackReason }

    /// The child's environment: the config's, `$PORT`, and — for another user — `HOME`, `USER`
    /// and `LOGNAME` as login would set them (unless `env:` does).
    func programEnvironment(_ config: ManagedProcess, port: Int?, identity: ProcessIdentity?) -> [String: String] {
        var environment = config.environment
        if let port { environment["PORT"] = "\(port)" }
        if let identity { environment = identity.loginEnvironment(over: environment) }
        return environment
    }

    /// The process's cgroup for its next program (`nil` without cgroups): made at its first
    /// start, its limits written again at every start (a config change may have changed them).
    /// The same directories keep the same ``ProcessCgroup`` (its OOM watch reports for the object
    /// the record holds); a change of directories (a v1 controller added or dropped) replaces it,
    /// removes what is no longer needed and watches the new one.
    func processCgroup(_ id: ProcessID, limits: CgroupLimits) throws(CgroupError) -> ProcessCgroup? {
        guard let tree = services.cgroups else { return nil }
        let made = try tree.makeProcessCgroup(name: id, limits: limits)
        let (previous, watched) = instances.withLock { ($0[id]?.cgroup, $0[id]?.oomWatch != nil) }
        // Only a cgroup with a memory limit has OOM kills of its own to watch for, and a watch
        // costs a descriptor (10,000 of them would not fit a 20,000 limit beside the output
        // pipes); without a limit, a kill of the program itself is still seen at its exit.
        let wantsWatch = limits.memoryBytes != nil
        if let previous, previous.directories == made.directories {
            if wantsWatch && !watched { watchOOM(id, cgroup: previous) }
            if !wantsWatch && watched { update(id) { instance in defer { instance.oomWatch = nil }; return instance.oomWatch }?.cancel() }
            return previous
        }
        if let previous {
            for directory in Set(previous.directories).subtracting(made.directories) { rmdir(directory) }
        }
        update(id) { $0.cgroup = made }
        if wantsWatch {
            watchOOM(id, cgroup: made)
        } else {
            update(id) { instance in defer { instance.oomWatch = nil }; return instance.oomWatch }?.cancel()
        }
        return made
    }

    /// Counts the OOM killer's kills in the cgroup from now on (those of an earlier agent or
    /// program are not this program's).
    private func watchOOM(_ id: ProcessID, cgroup: ProcessCgroup) {
        let baseline = cgroup.oomKills() ?? 0
        let watch = cgroup.watchOOM(reactor: services.reactor) { [weak self] in self?.countOOMKills(id, cgroup: cgroup) }
        let replaced = update(id) { instance -> CgroupOOMWatch? in
            defer {
                instance.oomWatch = watch
                instance.oomKillsCounted = baseline
            }
            return instance.oomWatch
        }
        replaced?.cancel()
    }

    /// The cgroup's OOM kill count rose: count the new kills and report them. Idempotent (the
    /// count is compared with what was already counted), so both the watch and the exit path
    /// may call it.
    func countOOMKills(_ id: ProcessID, cgroup: ProcessCgroup) {
        guard let total = cgroup.oomKills() else { return }
        let added = update(id) { instance -> UInt64 in
            guard instance.cgroup === cgroup, total > instance.oomKillsCounted else { return 0 }
            defer { instance.oomKillsCounted = total }
            return total - instance.oomKillsCounted
        }
        guard added > 0 else { return }
        metrics.oomKills.labels([id]).increment(by: Int(added))
        logger.warning("the OOM killer killed a process in the cgroup (limits.memory)", metadata: ["process": "\(id)", "kills": "\(added)"])
        hooks.withLock { $0 }?.oomKilled(id, added)
    }

    /// Spawns `spec` as a member of `cgroup` from its first instruction: created in its v2
    /// directory and writing itself into each v1 one before `exec` (``ProcessCgroup/openJoinFiles()``).
    /// The descriptors live only for the spawn.
    func spawnInCgroup(_ spec: SpawnSpec, cgroup: ProcessCgroup?) async throws -> SpawnedProcess {
        var spec = spec
        let files = try cgroup?.openJoinFiles() ?? ProcessCgroup.JoinFiles()
        defer { for fd in files.descriptors { close(fd) } }
        spec.cgroupProcsFDs = files.procs
        spec.cgroupInto = files.into
        return try await services.spawner.spawn(spec)
    }

    /// Runs one hook in the program's context (environment, directory, user, rlimits, cgroup);
    /// its output goes into the process's log lines. Throws ``HookError`` unless it succeeded.
    func runHook(
        _ phase: HookPhase, command: [String], id: ProcessID, config: ManagedProcess, environment: [String: String],
        identity: ProcessIdentity?, cgroup: ProcessCgroup?
    ) async throws(HookError) {
        let timeout = config.execution.hooks?.timeout ?? HookSettings().timeout
        var spec = SpawnSpec(
            arguments: command, environment: environment, workingDirectory: config.workingDirectory, killWithParent: true)
        spec.identity = identity
        spec.resourceLimits = config.execution.resourceLimits
        let recent = instances.withLock { $0[id]?.recent }
        let runner = hookRunner
        let outcome = await runner.run(spec, name: "\(id) \(phase.rawValue)", timeout: timeout, cgroup: cgroup) { line in
            recent?.append(line)
        } spawn: { [self] spec in
            try await spawnInCgroup(spec, cgroup: cgroup)
        }
        guard outcome.succeeded else { throw HookError(phase: phase, command: command, outcome: outcome) }
    }

    /// `hooks.post_stop`, once the program's group is empty: a failure is logged and counted,
    /// never more (the next start waits for it at most its timeout).
    func runPostStopHook(_ id: ProcessID, config: ManagedProcess) async {
        guard let command = config.execution.hooks?.postStop else { return }
        let (port, cgroup) = instances.withLock { ($0[id]?.port, $0[id]?.cgroup) }
        do {
            let identity = try config.execution.identity()
            try await runHook(
                .postStop, command: command, id: id, config: config,
                environment: programEnvironment(config, port: port, identity: identity), identity: identity, cgroup: cgroup)
        } catch {
            metrics.error(id, phase: .hook)
            logger.error("post_stop hook failed", metadata: ["process": "\(id)", "error": "\(error)"])
        }
    }
}
