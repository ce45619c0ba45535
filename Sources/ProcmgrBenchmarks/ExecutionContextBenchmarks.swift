#if canImport(Glibc)
import Glibc
#endif
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrRuntime
import ProcmgrSupport

/// The execution context's costs (issue 12), each beside today's way in the same run:
/// - cold start of 1,000 programs with a cgroup per process, three rlimits and a user switch vs
///   plain spawns (no cgroup), alternating runs;
/// - an OOM kill → the restart visible in the API and metrics;
/// - the CPU of one scrape of `/metrics` with 1,000 programs read from their cgroups vs one
///   /proc scan of their process groups.
///
/// The stop of programs whose descendants setsid() is measured from outside, beside the peers:
/// `bench/compare-escape.sh`.
enum ExecutionContextBenchmarks {
    static func run() async {
        alarm(UInt32(RuntimeBenchmarks.environmentInt("PROCMGR_BENCH_ALARM", default: 900)))
        guard geteuid() == 0 else {
            print("execution context: needs root (cgroups and a user switch)")
            return
        }
        let plain = RuntimeBenchmarks.services
        let tree: CgroupTree
        do {
            tree = try CgroupTree.open(name: "procmgr-bench-\(getpid())", logger: RuntimeBenchmarks.quietLogger)
        } catch {
            print("execution context: no cgroups here (\(error.reason))")
            return
        }
        if let path = tree.guardianKillPath { try? plain.guardian?.setKillCgroup(path) }
        let contextual = RuntimeServices(
            watcher: plain.watcher, spawner: plain.spawner, stopper: plain.stopper, capture: plain.capture, ports: plain.ports,
            guardian: plain.guardian, stateFile: nil, killWithAgent: true, cgroups: tree)
        print("cgroups: \(tree.summary)")

        let count = RuntimeBenchmarks.environmentInt("PROCMGR_BENCH_CONTEXT_PROGRAMS", default: 1000)
        var plainStarts: [Double] = []
        var contextStarts: [Double] = []
        for _ in 0..<RuntimeBenchmarks.runs {
            if let seconds = await coldStart(count, services: plain, config: RuntimeBenchmarks.program(RuntimeBenchmarks.sleepForever)) {
                plainStarts.append(seconds)
            }
            if let seconds = await coldStart(count, services: contextual, config: withContext(RuntimeBenchmarks.program(RuntimeBenchmarks.sleepForever))) {
                contextStarts.append(seconds)
            }
        }
        let scrapes = await scrapeCPU(count, plain: plain, contextual: contextual)
        let oom = await oomToRestart(services: contextual, samples: RuntimeBenchmarks.environmentInt("PROCMGR_BENCH_OOM_SAMPLES", default: 20))
        tree.removeIfEmpty()

        func sample(_ values: [Double], decimals: Int = 3) -> String {
            values.isEmpty ? "failed" : Sample(values: values).described(decimals: decimals)
        }
        let ratio = plainStarts.isEmpty || contextStarts.isEmpty ? Double.nan : Sample(values: contextStarts).median / Sample(values: plainStarts).median
        printTable(
            "Execution context (min/median/max of \(RuntimeBenchmarks.runs) runs)", header: ["figure", "procmgr", "goal"],
            rows: [
                ["cold start, \(count) plain spawns, all running (s)", sample(plainStarts), "—"],
                ["cold start, \(count) with cgroup (memory + pids limits) + 3 rlimits + user nobody (s)", sample(contextStarts), "—"],
                ["ratio (medians)", format(ratio, decimals: 2) + "×", "≤ 1.15×"],
                ["OOM kill → restart visible in API and metrics, p50/p99 of \(oom.count) (ms)",
                 oom.isEmpty ? "failed" : "\(format(RuntimeBenchmarks.percentile(oom, 0.5) * 1000, decimals: 2))/\(format(RuntimeBenchmarks.percentile(oom, 0.99) * 1000, decimals: 2))", "≤ 50"],
                ["/metrics CPU per scrape, \(count) programs, /proc scan of their groups (ms)", sample(scrapes.proc.map { $0 * 1000 }, decimals: 2), "—"],
                ["/metrics CPU per scrape, \(count) programs, from their cgroups (ms)", sample(scrapes.cgroup.map { $0 * 1000 }, decimals: 2), "cheaper"],
            ])
    }

    /// The benchmark's execution context: what an operator would set for a service.
    static func withContext(_ config: ManagedProcess) -> ManagedProcess {
        var config = config
        config.execution = ExecutionContext(
            user: "nobody",
            resourceLimits: [ResourceLimit(.nofile, 4096), ResourceLimit(.core, 0), ResourceLimit(.nproc, 4096)],
            cgroupLimits: CgroupLimits(memoryBytes: 64 << 20, pids: 64))
        return config
    }

    static func coldStart(_ count: Int, services: RuntimeServices, config: ManagedProcess) async -> Double? {
        await RuntimeBenchmarks.withRig(services: services) { rig in
            await RuntimeBenchmarks.start(rig, (0..<count).map { "ctx-\($0)" }, config: config)?.benchmarkSeconds
        }
    }

    /// CPU seconds of this thread for one exposition (the collectors sample resources in it),
    /// 20 scrapes each way, with `count` programs running.
    static func scrapeCPU(_ count: Int, plain: RuntimeServices, contextual: RuntimeServices) async -> (proc: [Double], cgroup: [Double]) {
        func scrapes(_ services: RuntimeServices, _ config: ManagedProcess) async -> [Double] {
            await RuntimeBenchmarks.withRig(services: services) { rig in
                guard await RuntimeBenchmarks.start(rig, (0..<count).map { "scrape-\($0)" }, config: config) != nil else { return [] }
                _ = rig.registry.exposition()  // the first scrape creates the series
                return (0..<20).map { _ in
                    let begin = threadCPUSeconds()
                    _ = rig.registry.exposition()
                    return threadCPUSeconds() - begin
                }
            }
        }
        // A memory limit, so memory is accounted by the cgroup on a hybrid host too (its v1
        // memory directory exists only for a limit).
        var cgroupConfig = RuntimeBenchmarks.program(RuntimeBenchmarks.sleepForever)
        cgroupConfig.execution = ExecutionContext(cgroupLimits: CgroupLimits(memoryBytes: 1 << 30))
        return (await scrapes(plain, RuntimeBenchmarks.program(RuntimeBenchmarks.sleepForever)), await scrapes(contextual, cgroupConfig))
    }

    /// From the kernel's OOM notification (the cgroup's eventfd, on the reactor) to the restart
    /// being decided — `procmgr_restarts_total{reason="oom"}` and the API's restart count change
    /// in that call —, over `samples` kills of a program that allocates past a 32 MiB limit.
    static func oomToRestart(services: RuntimeServices, samples: Int) async -> [Double] {
        let marks = LockedState<(oom: [ContinuousClock.Instant], restart: [ContinuousClock.Instant])>(([], []))
        let extra = RuntimeBenchmarks.ExtraHooks(
            restart: { _, reason in if reason == .oom { marks.withLock { $0.restart.append(.now) } } },
            oomKilled: { _ in marks.withLock { $0.oom.append(.now) } })
        return await RuntimeBenchmarks.withRig(services: services, observe: extra) { rig in
            var config = RuntimeBenchmarks.program(["python3", "-c", "s = 'x' * (256 << 20)"], restartAtOnce: true)
            config.execution = ExecutionContext(cgroupLimits: CgroupLimits(memoryBytes: 32 << 20))
            rig.manager.update("hog", config: config, type: .create)
            let deadline = ContinuousClock.now.advanced(by: .seconds(120))
            while marks.withLock({ min($0.oom.count, $0.restart.count) }) < samples, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            rig.manager.terminate("hog")
            return marks.withLock { marks in
                zip(marks.oom, marks.restart).map { $0.duration(to: $1).benchmarkSeconds }
            }
        }
    }

    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
