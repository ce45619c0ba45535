#if canImport(Glibc)
import Glibc
#endif
import ProcmgrEngine
import ProcmgrRuntime

/// Issue 11's probe figure: 1,000 programs with an exec readiness probe (`/bin/true`) every 10 s,
/// then 1,000 with a tcp readiness probe every 10 s; the agent's CPU over a window and zombies.
///
/// The tcp probes connect to ports one separate listener program (managed too) accepts on, so
/// the programs themselves can be `sleep`: what is measured is the agent's side only. Exec
/// probes' own CPU (fork, exec, `true`) is reported apart, from `RUSAGE_CHILDREN` (reaped
/// children). Zombies: /proc is scanned every second for children of ours in state Z; one still
/// there a scan later would be a leak (a probe exits and is reaped within microseconds, so a
/// scan can catch one in between).
///
/// `PROCMGR_BENCH_PROBE_PROGRAMS` (1000), `PROCMGR_BENCH_PROBE_WINDOW` seconds (60),
/// `PROCMGR_BENCH_PROBE_SETTLE` seconds (20: two intervals, so every probe runs in step).
enum ProbeBenchmarks {
    static let listenerBasePort = 46_000

    static func run() async {
        let programs = RuntimeBenchmarks.environmentInt("PROCMGR_BENCH_PROBE_PROGRAMS", default: 1000)
        let window = Duration.seconds(RuntimeBenchmarks.environmentInt("PROCMGR_BENCH_PROBE_WINDOW", default: 60))
        let settle = Duration.seconds(RuntimeBenchmarks.environmentInt("PROCMGR_BENCH_PROBE_SETTLE", default: 20))
        print("\nProbes: \(programs) programs, a readiness probe every 10 s each; agent CPU over \(window), after \(settle) of settling")
        let exec = ProbeSettings(action: .exec(command: ["/bin/true"]), interval: .seconds(10), timeout: .seconds(1))
        await measure("exec (/bin/true)", programs: programs, probe: { _ in exec }, listener: false, window: window, settle: settle)
        await measure("tcp", programs: programs, probe: { ProbeSettings(action: .tcp(port: listenerBasePort + $0), interval: .seconds(10), timeout: .seconds(1)) },
                      listener: true, window: window, settle: settle)
    }

    private static func measure(
        _ name: String, programs: Int, probe: (Int) -> ProbeSettings, listener: Bool, window: Duration, settle: Duration
    ) async {
        let configs = (0..<programs).map { index in
            var config = RuntimeBenchmarks.program(["sleep", "100000"])
            config.readiness = probe(index)
            return (id: "probed-\(index)", config: config)
        }
        let figures = await RuntimeBenchmarks.withRig { rig -> String? in
            if listener {
                let command = ["python3", "-c", listenerScript(base: listenerBasePort, count: programs)]
                guard await RuntimeBenchmarks.start(rig, ["listener"], config: RuntimeBenchmarks.program(command)) != nil else { return nil }
                guard await waitForListening(base: listenerBasePort, count: programs) else { return "listener did not come up" }
            }
            let clock = ContinuousClock()
            let began = clock.now
            for (id, config) in configs { rig.manager.update(id, config: config, type: .create) }
            let ids = configs.map(\.id)
            guard await RuntimeBenchmarks.waitAll(rig, ids, reach: .running, timeout: .seconds(180)) != nil else { return "not all running" }
            let started = began.duration(to: clock.now)
            try? await Task.sleep(for: settle)
            let readyBefore = ids.count { rig.runtime.snapshot(of: $0)?.ready == true }
            let checksBefore = probeChecks(rig)
            let ownBefore = RuntimeBenchmarks.ownCPUSeconds()
            let childrenBefore = childrenCPUSeconds()
            let windowStart = clock.now
            var scans = 0
            var zombieSightings = 0
            var persistentZombies = 0
            var previous: Set<Int32> = []
            // The zombie scan reads /proc/PID/stat of 1,000+ processes every second, in this
            // process: its CPU is measured on its own thread and taken out of the agent's figure.
            var scanCPU = 0.0
            while windowStart.duration(to: clock.now) < window {
                try? await Task.sleep(for: .seconds(1))
                let scanStarted = threadCPUSeconds()
                let zombies = Set(zombieChildren())
                scanCPU += threadCPUSeconds() - scanStarted
                scans += 1
                zombieSightings += zombies.count
                persistentZombies += zombies.intersection(previous).count
                previous = zombies
            }
            let wall = windowStart.duration(to: clock.now).benchmarkSeconds
            let own = (RuntimeBenchmarks.ownCPUSeconds() - ownBefore - scanCPU) / wall * 100
            let scan = scanCPU / wall * 100
            let children = (childrenCPUSeconds() - childrenBefore) / wall * 100
            let checks = probeChecks(rig) - checksBefore
            let ready = ids.count { rig.runtime.snapshot(of: $0)?.ready == true }
            return """
              \(name): agent \(format(own))% of a core (the bench's own zombie scan, \(format(scan))%, excluded), exec'd probes (reaped children) \(format(children))%; \
            \(format(checks / wall, decimals: 1)) checks/s (\(Int(checks)) in \(format(wall, decimals: 1)) s); \
            ready \(readyBefore)→\(ready) of \(programs); zombies: \(zombieSightings) sighted in \(scans) scans, \(persistentZombies) still there a scan later; \
            all running after \(format(started.benchmarkSeconds, decimals: 1)) s
            """
        }
        print(figures ?? "  \(name): could not start the programs")
    }

    /// Every probe check the rig's runtime counted, all kinds and results.
    private static func probeChecks(_ rig: RuntimeBenchmarks.Rig) -> Double {
        rig.registry.exposition().split(separator: "\n")
            .filter { $0.hasPrefix("procmgr_probe_checks_total{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    /// CPU time of the calling thread.
    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private static func childrenCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func zombieChildren() -> [Int32] {
        let me = getpid()
        return ProcFS.allStats().filter { $0.parentPID == me && $0.isZombie }.map(\.pid)
    }

    /// Polls the last port until it accepts (the listener binds in order; a busy last port
    /// makes this give up after 20 s).
    private static func waitForListening(base: Int, count: Int) async -> Bool {
        for _ in 0..<200 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let connected = connectLoopback(fd, port: base + count - 1) == 0
            close(fd)
            if connected { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// One Python process accepting (and closing) on `count` ports from `base`. A port some
    /// other socket of the machine holds (an ephemeral client port in that range) is skipped:
    /// its program's probe fails, which the "ready" figure shows.
    private static func listenerScript(base: Int, count: Int) -> String {
        """
        import resource, selectors, socket
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        selector = selectors.DefaultSelector()
        for port in range(\(base), \(base + count)):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(("127.0.0.1", port))
            except OSError:
                listener.close()
                continue
            listener.listen(128)
            listener.setblocking(False)
            selector.register(listener, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                try:
                    connection, _ = key.fileobj.accept()
                    connection.close()
                except OSError:
                    pass
        """
    }
}
