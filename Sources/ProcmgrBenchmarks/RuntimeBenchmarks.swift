#if canImport(Glibc)
import ProcmgrSupport
import Glibc
#endif
import Logging
import ProcmgrAgent
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrRuntime

/// procmgr's side of the supervisor comparison (`bench/compare-supervisors.sh`): the engine driving
/// real children through ``ProcessRuntime``, wired as the agent wires them (one set of
/// ``RuntimeServices`` with the orphan guard, PDEATHSIG, subreaper).
///
/// Sections:
/// - `runtime`: every figure of the comparison table, in-process. With `PROCMGR_BENCH_RESULTS`
///   set to a path, the raw figures are also written there (`key value…` lines) for the script.
/// - `runtime-host N [family|sleep|heartbeat] [lifetime-seconds]`: an agent stand-in, for the
///   SIGKILL test and for measuring (or profiling) procmgr from outside like the peers.
/// - `runtime heartbeat`: only the heartbeat row of `runtime` (same figure, same table format),
///   for iterating on the heartbeat path without the ~minutes of the other scenarios.
///   Starts N programs, prints `CHILD <id> <pid>…` (every member of each program's group) and
///   `READY <agent pid> <guardian pid>`, then idles until SIGKILLed or its lifetime (default
///   300 s) ends — the alarm ends it, and the guardian then kills what it started.
enum RuntimeBenchmarks {
    static let runs = 3
    /// Idle CPU is measured from 15 s to 45 s after the last start. A healthy child's safety
    /// resync comes only every ``ProcessRuntime/idleResyncInterval`` (600–900 s), so this window
    /// holds none: add their share (rate × cost per resync) for the long-run average.
    static var idleSettle: Duration { .seconds(environmentInt("PROCMGR_BENCH_IDLE_SETTLE", default: 15)) }
    static var idleWindow: Duration { .seconds(environmentInt("PROCMGR_BENCH_IDLE_WINDOW", default: 30)) }

    static func main(section: String, arguments: [String]) async {
        if section == "runtime-host" {
            await host(arguments)
        } else if arguments.first == "heartbeat" {
            await heartbeatOnly()
        } else {
            await comparison()
        }
    }

    // MARK: - Wiring

    static let quietLogger: Logger = {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        return logger
    }()

    /// One per process, as in the agent (only one exit watcher may reap orphans).
    static let services: RuntimeServices = {
        do {
            return try RuntimeServices.start(portRange: 45_000...45_999, stateFilePath: nil, killOrphans: true, logger: quietLogger)
        } catch {
            fatalError("cannot start the runtime services: \(error)")
        }
    }()

    /// A manager and runtime over the shared services, with hooks that timestamp every start and
    /// every exit the runtime observed.
    struct Rig: Sendable {
        let manager: ProcessManager<ProcessRuntime, ContinuousClock>
        let runtime: ProcessRuntime
        let starts: StartLog
        let registry: MetricsRegistry
        let exits: StartLog
        /// Wired as in the agent when the rig was built `withDependencies`.
        let dependencies: DependencyCoordinator?
    }

    /// Builds a rig, runs manager and runtime for `body`, then shuts everything down. With
    /// `withDependencies`, starts wait at a ``DependencyCoordinator`` exactly as in the agent.
    ///
    /// `services`: the runtime's OS side (default: the shared one, without cgroups); `observe`:
    /// extra hooks (restarts decided, OOM kills) for the rigs without dependencies.
    static func withRig<T: Sendable>(
        services: RuntimeServices = services, withDependencies: Bool = false, observe extra: ExtraHooks = ExtraHooks(),
        _ body: @Sendable (Rig) async -> T
    ) async -> T {
        let registry = MetricsRegistry()
        let runtime: ProcessRuntime
        let manager: ProcessManager<ProcessRuntime, ContinuousClock>
        do {
            runtime = try ProcessRuntime(services: services, registry: registry, logger: quietLogger)
            var configuration = EngineConfiguration()
            // Diagnosis only: the engine's default periodic resync is 30 s ± 50 %.
            if let seconds = getenv("PROCMGR_BENCH_RESYNC_SECONDS").flatMap({ Int(String(cString: $0)) }) {
                configuration.resyncInterval = .seconds(seconds)
            }
            manager = try ProcessManager(syncer: runtime, configuration: configuration, registry: registry, logger: quietLogger)
        } catch {
            fatalError("cannot build the runtime: \(error)")
        }
        let starts = StartLog()
        let exits = StartLog()
        // Called by the runtime right after it stored a freshly started child (healthy: no
        // probe) and right after it released an exited one.
        let observe: @Sendable (ProcessID, Bool) -> Void = { id, healthy in
            if healthy { starts.record(id) } else { exits.record(id) }
        }
        var dependencies: DependencyCoordinator?
        if withDependencies {
            do {
                dependencies = try DependencyCoordinator.connecting(runtime, to: manager, registry: registry, logger: quietLogger, observeHealth: observe)
            } catch {
                fatalError("cannot build the dependency coordinator: \(error)")
            }
        } else {
            runtime.bind(ProcessRuntime.EngineHooks(
                requestSync: { [weak manager] id in manager?.requestSync(id) },
                recordRestart: { [weak manager] id, reason in
                    manager?.recordRestart(id)
                    extra.restart(id, reason)
                },
                setHealthy: { [weak manager] id, healthy in
                    manager?.setHealthy(id, healthy)
                    observe(id, healthy)
                },
                oomKilled: { id, _ in extra.oomKilled(id) }))
        }
        let rig = Rig(manager: manager, runtime: runtime, starts: starts, registry: registry, exits: exits, dependencies: dependencies)
        return await withTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await manager.run() }
            group.addTask { await runtime.run() }
            let result = await body(rig)
            let report = await manager.shutdown(deadline: .seconds(30))
            if !report.stragglers.isEmpty { print("warning: \(report.stragglers.count) processes not stopped at shutdown") }
            group.cancelAll()
            return result
        }
    }

    /// Hooks a benchmark adds to a rig's binding.
    struct ExtraHooks: Sendable {
        var restart: @Sendable (ProcessID, RestartReason) -> Void = { _, _ in }
        var oomKilled: @Sendable (ProcessID) -> Void = { _ in }
    }

    static let sleepForever = ["sleep", "600"]
    static let termIgnoring = ["sh", "-c", "trap '' TERM; exec sleep 600"]
    static let family = ["sh", "-c", "sleep 600 & sleep 600 & exec sleep 600"]

    static func program(
        _ command: [String], grace: Duration = .seconds(10), restartAtOnce: Bool = false, heartbeat: HeartbeatSettings? = nil
    ) -> ManagedProcess {
        let backoff = restartAtOnce
            ? RestartBackoff(delays: Backoff(initial: .zero, maximum: .zero, multiplier: 1, jitter: 0), resetAfter: .seconds(60))
            : RestartBackoff()
        return ManagedProcess(
            command: command, environment: ProcessEnvironment.current(), restart: .always, backoff: backoff,
            terminationGracePeriod: grace, heartbeat: heartbeat)
    }

    /// Creates `ids` and returns the instant every one of them is running (or nil on timeout).
    static func start(_ rig: Rig, _ ids: [ProcessID], config: ManagedProcess, timeout: Duration = .seconds(60)) async -> Duration? {
        let clock = ContinuousClock()
        let begin = clock.now
        for id in ids { rig.manager.update(id, config: config, type: .create) }
        guard let end = await waitAll(rig, ids, reach: .running, timeout: timeout) else {
            let stuck = ids.filter { (rig.manager.status(of: $0)?.state ?? .finished) < .running }
            print("warning: \(stuck.count) of \(ids.count) not running after \(timeout); last error: \(stuck.first.flatMap { rig.manager.status(of: $0)?.lastError } ?? "-")")
            return nil
        }
        // Spawns are clone(CLONE_VFORK): a running worker's child has exec'd. Check it exists.
        for id in ids {
            guard let pid = rig.runtime.snapshot(of: id)?.pid, kill(pid, 0) == 0 else {
                print("warning: \(id) is running but its child is not")
                return nil
            }
        }
        return begin.duration(to: end)
    }

    /// The instant the last of `ids` reached `target`, or nil after `timeout`.
    static func waitAll(_ rig: Rig, _ ids: [ProcessID], reach target: ProcessState, timeout: Duration) async -> ContinuousClock.Instant? {
        await withTaskGroup(of: ContinuousClock.Instant?.self) { group in
            group.addTask {
                for id in ids { _ = await rig.manager.waitUntil(id, reaches: target) }
                let reached = ids.allSatisfy { (rig.manager.status(of: $0)?.state ?? .finished) >= target }
                return reached ? ContinuousClock.now : nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Waits (polling /proc, which has no event for it) until every child runs `sleep`: the shell
    /// wrapper has exec'd, so its TERM trap is in place. Polls gently: in runtime-host it runs
    /// while an outside observer may still be timing the children's start.
    static func waitUntilExecd(_ rig: Rig, _ ids: [ProcessID], command: String = "sleep", timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var pending = ids
        while !pending.isEmpty {
            pending = pending.filter { id in
                guard let pid = rig.runtime.snapshot(of: id)?.pid else { return true }
                return ProcStat.read(pid: pid)?.command != command
            }
            if pending.isEmpty { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    // MARK: - The comparison

    static func comparison() async {
        // A hung scenario must not leave the benchmark (and its children) running: the default
        // SIGALRM action ends the process, and the guardian and PDEATHSIG then end the children.
        alarm(UInt32(environmentInt("PROCMGR_BENCH_ALARM", default: 1200)))
        _ = services
        var results = ResultsFile()
        var rows: [[String]] = []

        // 1,000 first, in a fresh process: its memory figure is the agent's, not a heap grown by
        // earlier runs. The first run also measures memory and idle CPU.
        var cold1000: [Double] = []
        var memory = MemoryFigures()
        var idle = Double.nan
        for run in 0..<runs {
            let measured = await withRig { rig -> (Double?, MemoryFigures?, Double?) in
                let ids = (0..<1000).map { "cold-\($0)" }
                guard let elapsed = await start(rig, ids, config: program(sleepForever)) else { return (nil, nil, nil) }
                guard run == 0 else { return (elapsed.benchmarkSeconds, nil, nil) }
                // Settled: the spawn thread trims the heap and pages out start-up code 1 s
                // after the burst (as peerbench.py, 3 s after the last start).
                try? await Task.sleep(for: .seconds(3))
                let memory = MemoryFigures.now()
                try? await Task.sleep(for: idleSettle - .seconds(3))
                let cpu = await idleCPUPercent(over: idleWindow)
                return (elapsed.benchmarkSeconds, memory, cpu)
            }
            if let seconds = measured.0 { cold1000.append(seconds) }
            if let figures = measured.1 { memory = figures }
            if let cpu = measured.2 { idle = cpu }
            if ProcessInfoLite.verbose { print("cold start 1000 run \(run): \(measured.0.map { format($0, decimals: 3) } ?? "failed")") }
        }

        var cold100: [Double] = []
        for _ in 0..<runs {
            let seconds = await withRig { rig -> Double? in
                await start(rig, (0..<100).map { "cold-\($0)" }, config: program(sleepForever))?.benchmarkSeconds
            }
            if let seconds { cold100.append(seconds) }
        }

        let restart = await restartLatencies(programs: 20, samples: environmentInt("PROCMGR_BENCH_RESTARTS", default: 200))

        var stopIgnoring: [Double] = []
        var stopObeying: [Double] = []
        for _ in 0..<runs {
            if let seconds = await stopAll(count: 100, command: termIgnoring, grace: .seconds(1)) { stopIgnoring.append(seconds) }
            if let seconds = await stopAll(count: 100, command: sleepForever, grace: .seconds(10)) { stopObeying.append(seconds) }
        }

        let survivors = await orphanSurvivors(programs: 20)
        let heartbeat = await heartbeatIdleCPU(children: 1000)

        func sample(_ values: [Double], decimals: Int = 3) -> String {
            values.isEmpty ? "failed" : Sample(values: values).described(decimals: decimals)
        }
        rows.append(["cold start, 100 processes running (s)", sample(cold100), "≤ 0.06"])
        rows.append(["cold start, 1,000 processes running (s)", sample(cold1000), "≤ 0.6"])
        rows.append([
            "memory (PSS, MiB) with 1,000 running: agent + guardian",
            "\(format(memory.agentPSS + memory.guardianPSS, decimals: 1)) (agent \(format(memory.agentPSS, decimals: 1)), guardian \(format(memory.guardianPSS, decimals: 1)); agent RSS \(format(memory.agentRSS, decimals: 1)))",
            "≤ 30",
        ])
        rows.append(["idle CPU with 1,000 running, no probes (% of a core, \(idleWindow.components.seconds) s window)", format(idle, decimals: 4), "≤ 0.05"])
        rows.append([
            "exit → running again, backoff initial 0 (ms, p50/p99/max of \(restart.latencies.count)\(restart.failures > 0 ? ", \(restart.failures) failed" : ""))",
            restart.latencies.isEmpty ? "failed" : "\(format(percentile(restart.latencies, 0.5), decimals: 2))/\(format(percentile(restart.latencies, 0.99), decimals: 2))/\(format(restart.latencies.max()!, decimals: 2))",
            "p99 ≤ 5",
        ])
        rows.append(["stop 100 TERM-ignoring, grace 1 s: last group empty (s)", sample(stopIgnoring), "≤ 1.05"])
        rows.append(["stop 100 TERM-obeying: all groups empty (s)", sample(stopObeying), "≤ 0.1"])
        rows.append([
            "descendants alive 2 s after the agent is SIGKILLed (20 programs × 3 processes)",
            survivors.map { "\($0.alive) of \($0.total)" } ?? "failed", "0",
        ])
        rows.append([
            "idle CPU with 1,000 heartbeat children, 2 s interval (% of a core)",
            heartbeat.map { "\(format($0.percent, decimals: 3)) (\($0.children) × \($0.child))" } ?? "n/a", "≤ 1",
        ])
        printTable(
            "Runtime: real children (`sleep`) through engine + ProcessRuntime, orphan guard on (min/median/max of \(runs) runs)",
            header: ["figure", "procmgr", "goal"], rows: rows)

        results.add("cold100", cold100)
        results.add("cold1000", cold1000)
        results.add("pss_mib", [memory.agentPSS + memory.guardianPSS])
        results.add("pss_agent_mib", [memory.agentPSS])
        results.add("pss_guardian_mib", [memory.guardianPSS])
        results.add("rss_agent_mib", [memory.agentRSS])
        results.add("idle_cpu_pct", [idle])
        if !restart.latencies.isEmpty {
            results.add("restart_ms", [percentile(restart.latencies, 0.5), percentile(restart.latencies, 0.99), restart.latencies.max()!])
            results.add("restart_samples", [Double(restart.latencies.count), Double(restart.failures)])
        }
        results.add("stop_ignore", stopIgnoring)
        results.add("stop_obey", stopObeying)
        if let survivors { results.add("survivors", [Double(survivors.alive), Double(survivors.total)]) }
        if let heartbeat { results.add("heartbeat_cpu_pct", [heartbeat.percent, Double(heartbeat.children)]) }
        results.write()
    }

    /// `runtime heartbeat`: the heartbeat row alone, printed as in ``comparison()``.
    static func heartbeatOnly() async {
        alarm(UInt32(environmentInt("PROCMGR_BENCH_ALARM", default: 1200)))
        _ = services
        let heartbeat = await heartbeatIdleCPU(children: 1000)
        printTable(
            "Runtime: heartbeat children through engine + ProcessRuntime, orphan guard on",
            header: ["figure", "procmgr", "goal"],
            rows: [[
                "idle CPU with 1,000 heartbeat children, 2 s interval (% of a core)",
                heartbeat.map { "\(format($0.percent, decimals: 3)) (\($0.children) × \($0.child))" } ?? "n/a", "≤ 1",
            ]])
        var results = ResultsFile()
        if let heartbeat { results.add("heartbeat_cpu_pct", [heartbeat.percent, Double(heartbeat.children)]) }
        results.write()
    }

    // MARK: Scenarios

    /// SIGKILLs one child at a time (round robin over `programs`) and times the kill until the
    /// runtime reports the replacement started. Restart policy `always`, backoff initial 0. Each
    /// victim has run at least 2 s (as for the peers: runsv holds back a restart of a service
    /// that ran less than 1 s — a crash loop is not what this row measures).
    static func restartLatencies(programs: Int, samples: Int) async -> (latencies: [Double], failures: Int) {
        await withRig { rig in
            let ids = (0..<programs).map { "restart-\($0)" }
            guard await start(rig, ids, config: program(sleepForever, restartAtOnce: true)) != nil else { return ([], samples) }
            let clock = ContinuousClock()
            var latencies: [Double] = []
            var failures = 0
            for index in 0..<samples {
                let id = ids[index % ids.count]
                guard let old = rig.runtime.snapshot(of: id)?.pid else {
                    failures += 1
                    continue
                }
                if let latest = rig.starts.latest(of: id), latest.duration(to: clock.now) < .seconds(2) {
                    try? await Task.sleep(until: latest.advanced(by: .seconds(2)))
                }
                let before = rig.starts.count(of: id)
                let killedAt = clock.now
                kill(old, SIGKILL)
                guard let startedAt = await rig.starts.waitForStart(of: id, after: before, timeout: .seconds(5)),
                      let new = rig.runtime.snapshot(of: id)?.pid, new != old, kill(new, 0) == 0
                else {
                    failures += 1
                    continue
                }
                latencies.append(killedAt.duration(to: startedAt).benchmarkSeconds * 1000)
            }
            return (latencies, failures)
        }
    }

    /// Starts `count` programs, then asks for all of them to stop at once (as a config reload
    /// removing them does) and returns the time until every group is empty.
    static func stopAll(count: Int, command: [String], grace: Duration) async -> Double? {
        await withRig { rig in
            let ids = (0..<count).map { "stop-\($0)" }
            guard await start(rig, ids, config: program(command, grace: grace)) != nil,
                  await waitUntilExecd(rig, ids)
            else { return nil }
            let groups = ids.compactMap { rig.runtime.snapshot(of: $0)?.pid }
            let begin = ContinuousClock.now
            _ = rig.manager.syncKnownProcesses([String]())
            guard let end = await waitAll(rig, ids, reach: .terminated, timeout: grace + .seconds(10)) else {
                print("warning: stop of \(count) did not finish")
                return nil
            }
            let left = groups.filter { GroupStopper.groupExists($0) }
            if !left.isEmpty { print("warning: \(left.count) groups still exist after their workers terminated") }
            return begin.duration(to: end).benchmarkSeconds
        }
    }

    /// Starts `runtime-host N` (this executable) as a separate agent, SIGKILLs it once its
    /// programs run, and counts which of their processes are alive 2 s later.
    static func orphanSurvivors(programs: Int) async -> (alive: Int, total: Int)? {
        guard let executable = selfExecutable() else { return nil }
        let host: SpawnedProcess
        do {
            host = try await services.spawner.spawn(SpawnSpec(
                arguments: [executable, "runtime-host", "\(programs)", "family", "120"],
                environment: ProcessEnvironment.current(), captureOutput: true, killWithParent: true))
        } catch {
            print("warning: cannot start runtime-host: \(error)")
            return nil
        }
        let lines = LockedState<[String]>([])
        let ready = OneShot<Void>()
        let capture = try? services.capture.attach(name: "runtime-host", stdout: host.stdoutFD, stderr: host.stderrFD) { line in
            lines.withLock { $0.append(line.text) }
            if line.text.hasPrefix("READY") { ready.fulfill(()) }
        }
        defer {
            capture?.detach()
            try? services.guardian?.unregister(pgid: host.pgid)
        }
        guard await ready.wait(timeout: .seconds(60)) != nil else {
            print("warning: runtime-host did not get ready: \(lines.withLock { $0.suffix(5) })")
            kill(host.pid, SIGKILL)
            return nil
        }
        // Identity = pid + start time, so a recycled pid is not counted as a survivor.
        let members: [(pid: Int32, start: UInt64)] = lines.withLock { $0 }
            .filter { $0.hasPrefix("CHILD ") }
            .flatMap { $0.split(separator: " ").dropFirst(2).compactMap { Int32($0) } }
            .compactMap { pid in ProcStat.read(pid: pid).map { (pid, $0.startTime) } }
        kill(host.pid, SIGKILL)
        _ = await host.exit.wait(timeout: .seconds(10))
        try? await Task.sleep(for: .seconds(2))
        let alive = members.filter { member in
            guard let stat = ProcStat.read(pid: member.pid) else { return false }
            return !stat.isZombie && stat.startTime == member.start
        }
        for member in alive { kill(member.pid, SIGKILL) }
        return (alive.count, members.count)
    }

    /// 1,000 children answering heartbeats every 2 s: the agent's CPU over the idle window.
    static func heartbeatIdleCPU(children: Int) async -> (percent: Double, children: Int, child: String)? {
        guard let command = heartbeatChildCommand() else {
            print("note: no heartbeat child found (build runtime-testhost, or run from the package root for examples/heartbeat_child.py)")
            return nil
        }
        return await withRig { rig in
            let ids = (0..<children).map { "beat-\($0)" }
            let config = program(command, heartbeat: HeartbeatSettings(interval: .seconds(2), timeout: .seconds(10)))
            guard await start(rig, ids, config: config, timeout: .seconds(180)) != nil else { return nil }
            try? await Task.sleep(for: idleSettle)
            let percent = await idleCPUPercent(over: idleWindow)
            let answered = ids.count { rig.runtime.snapshot(of: $0)?.heartbeatLatency != nil }
            let restarted = ids.count { (rig.manager.status(of: $0)?.restartCount ?? 0) > 0 }
            if answered < ids.count || restarted > 0 {
                print("warning: heartbeats answered by \(answered) of \(ids.count) children; \(restarted) restarted")
            }
            let child = command.count > 1 && command[0] == "python3" ? "heartbeat_child.py" : String(command[0].split(separator: "/").last ?? "")
            return (percent, children, child)
        }
    }

    // MARK: - runtime-host

    static func host(_ arguments: [String]) async {
        let count = arguments.first.flatMap { Int($0) } ?? 20
        let kind = arguments.count > 1 ? arguments[1] : "family"
        let lifetime = arguments.count > 2 ? Int(arguments[2]) ?? 300 : 300
        alarm(UInt32(lifetime))
        try? Guardian.prefork()  // as `procmgr run` does, before the heap fills
        var config = program(kind == "family" ? family : sleepForever)
        var members = kind == "family" ? 3 : 1
        var executable = "sleep"
        if kind == "heartbeat" {
            guard let command = heartbeatChildCommand() else {
                emit("FAILED no heartbeat child")
                exit(2)
            }
            config = program(command, heartbeat: HeartbeatSettings(interval: .seconds(2), timeout: .seconds(10)))
            members = 0
            executable = String(command[0].split(separator: "/").last ?? "").prefix(15).description
        }
        await withRig { [config, members, executable] rig in
            let ids = (0..<count).map { "host-\($0)" }
            guard await start(rig, ids, config: config, timeout: .seconds(180)) != nil,
                  await waitUntilExecd(rig, ids, command: executable)
            else {
                emit("FAILED could not start \(count) programs")
                exit(2)
            }
            // Background members have no event either: wait until every group is complete.
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            var groups: [ProcessID: [ProcStat]] = [:]
            while true {
                let all = ProcFS.allStats()
                let byGroup = Dictionary(grouping: all.filter { !$0.isZombie && $0.command == executable }, by: \.processGroup)
                groups = [:]
                for id in ids {
                    if let pgid = rig.runtime.snapshot(of: id)?.pid { groups[id] = byGroup[pgid] ?? [] }
                }
                if groups.values.allSatisfy({ $0.count >= members }) { break }
                if ContinuousClock.now >= deadline {
                    emit("FAILED groups incomplete")
                    exit(2)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            for id in ids { emit("CHILD \(id) " + (groups[id] ?? []).map { "\($0.pid)" }.joined(separator: " ")) }
            emit("READY \(getpid()) \(services.guardian?.pid ?? 0)")
            while true { try? await Task.sleep(for: .seconds(3600)) }
        }
    }

    static func emit(_ line: String) {
        print(line)
        fflush(nil)
    }

    // MARK: - Measuring

    /// CPU time of this process (all threads, precise: the scheduler's runtime, not ticks) over
    /// `window`, as a percentage of one core.
    static func idleCPUPercent(over window: Duration) async -> Double {
        let clock = ContinuousClock()
        let cpuBefore = ownCPUSeconds()
        let begin = clock.now
        try? await Task.sleep(for: window)
        let wall = begin.duration(to: clock.now).benchmarkSeconds
        return (ownCPUSeconds() - cpuBefore) / wall * 100
    }

    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    struct MemoryFigures {
        var agentPSS = Double.nan
        var agentRSS = Double.nan
        var guardianPSS = Double.nan

        static func now() -> MemoryFigures {
            let own = smapsRollup("self")
            let guardian = services.guardian.map { smapsRollup("\($0.pid)") }
            return MemoryFigures(agentPSS: own.pss, agentRSS: own.rss, guardianPSS: guardian?.pss ?? 0)
        }
    }

    /// `Rss:` and `Pss:` of /proc/<pid>/smaps_rollup, in MiB.
    static func smapsRollup(_ pid: String) -> (rss: Double, pss: Double) {
        guard let file = fopen("/proc/\(pid)/smaps_rollup", "r") else { return (.nan, .nan) }
        defer { fclose(file) }
        var rss = Double.nan, pss = Double.nan
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Double(fields[1]) else { continue }
            if fields[0] == "Rss:" { rss = kib / 1024 }
            if fields[0] == "Pss:" { pss = kib / 1024 }
        }
        return (rss, pss)
    }

    /// Nearest-rank percentile.
    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    static func selfExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `runtime-testhost heartbeat-child` built next to this executable, else
    /// `python3 examples/heartbeat_child.py` (from the package root or the working directory).
    static func heartbeatChildCommand() -> [String]? {
        guard let executable = selfExecutable(), let slash = executable.lastIndex(of: "/") else { return nil }
        let directory = String(executable[..<slash])
        let testhost = directory + "/runtime-testhost"
        if access(testhost, X_OK) == 0 { return [testhost, "heartbeat-child"] }
        // <package>/<scratch>/<triple>/release/procmgr-bench → <package>/examples
        var candidates = ["examples/heartbeat_child.py"]
        var parent = directory
        for _ in 0..<4 {
            guard let up = parent.lastIndex(of: "/") else { break }
            parent = String(parent[..<up])
            candidates.append(parent + "/examples/heartbeat_child.py")
        }
        for candidate in candidates where access(candidate, R_OK) == 0 { return ["python3", candidate] }
        return nil
    }

    static func environmentInt(_ name: String, default value: Int) -> Int {
        getenv(name).flatMap { Int(String(cString: $0)) } ?? value
    }
}

/// Every start the runtime reports, with a way to wait for the next one of a process.
final class StartLog: Sendable {
    private struct Waiter {
        let after: Int
        let signal: OneShot<ContinuousClock.Instant>
    }

    private struct State {
        var counts: [ProcessID: Int] = [:]
        var latest: [ProcessID: ContinuousClock.Instant] = [:]
        var waiters: [ProcessID: Waiter] = [:]
    }

    private let state = LockedState(State())

    func record(_ id: ProcessID) {
        let now = ContinuousClock.now
        let waiter = state.withLock { state -> OneShot<ContinuousClock.Instant>? in
            let count = state.counts[id, default: 0] + 1
            state.counts[id] = count
            state.latest[id] = now
            guard let waiter = state.waiters[id], count > waiter.after else { return nil }
            state.waiters[id] = nil
            return waiter.signal
        }
        waiter?.fulfill(now)
    }

    func count(of id: ProcessID) -> Int { state.withLock { $0.counts[id, default: 0] } }

    func latest(of id: ProcessID) -> ContinuousClock.Instant? { state.withLock { $0.latest[id] } }

    /// The instant of the first start of `id` after its `after`-th, or nil after `timeout`.
    func waitForStart(of id: ProcessID, after: Int, timeout: Duration) async -> ContinuousClock.Instant? {
        let signal = OneShot<ContinuousClock.Instant>()
        let already = state.withLock { state -> ContinuousClock.Instant? in
            if state.counts[id, default: 0] > after { return state.latest[id] }
            state.waiters[id] = Waiter(after: after, signal: signal)
            return nil
        }
        if let already { return already }
        let result = await signal.wait(timeout: timeout)
        if result == nil { state.withLock { _ = $0.waiters.removeValue(forKey: id) } }
        return result
    }
}

/// Raw figures for bench/compare-supervisors.sh: `key value…` lines at $PROCMGR_BENCH_RESULTS.
struct ResultsFile {
    private var lines: [String] = []

    mutating func add(_ key: String, _ values: [Double]) {
        lines.append(([key] + values.map { "\($0)" }).joined(separator: " "))
    }

    func write() {
        guard let path = getenv("PROCMGR_BENCH_RESULTS").map({ String(cString: $0) }), !path.isEmpty else { return }
        guard let file = fopen(path, "w") else {
            print("warning: cannot write \(path)")
            return
        }
        defer { fclose(file) }
        for line in lines { fputs(line + "\n", file) }
    }
}

extension Sample {
    func described(decimals: Int) -> String {
        "\(format(min, decimals: decimals))/\(format(median, decimals: decimals))/\(format(max, decimals: decimals))"
    }
}
