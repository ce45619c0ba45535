import ProcmgrAgent
import ProcmgrEngine
import ProcmgrRuntime

/// Service stacks (issue 11), with the engine, runtime and dependency coordinator wired as the
/// agent wires them (``RuntimeBenchmarks/withRig(withDependencies:_:)``):
///
/// - dependency satisfied → dependent spawned: a job (`true`, `restart: never`) and a dependent
///   waiting for it to `completed_successfully`, one pair at a time; from the runtime releasing
///   the job's exited child (the fact the condition reads) to the dependent's child being stored.
/// - cold start of 1,000 processes in 10 levels of 100 (each depends, `started`, on two of the
///   level before) against the same 1,000 flat, alternating in one run: create → all running.
enum DependencyBenchmarks {
    static let pairs = 200
    static let runs = 3

    static func run() async {
        _ = RuntimeBenchmarks.services
        let latencies = await RuntimeBenchmarks.withRig(withDependencies: true) { rig in await satisfiedToSpawned(rig) }
        var flat: [Double] = []
        var layered: [Double] = []
        for _ in 0..<runs {
            if let seconds = await RuntimeBenchmarks.withRig(withDependencies: true, { rig in await coldStart(rig, layered: false) }) {
                flat.append(seconds)
            }
            if let seconds = await RuntimeBenchmarks.withRig(withDependencies: true, { rig in await coldStart(rig, layered: true) }) {
                layered.append(seconds)
            }
        }
        let p50 = RuntimeBenchmarks.percentile(latencies, 0.5) * 1000
        let p99 = RuntimeBenchmarks.percentile(latencies, 0.99) * 1000
        let flatMedian = median(flat)
        let layeredMedian = median(layered)
        print("| figure | value | goal |")
        print("|---|---|---|")
        print("| dependency satisfied → dependent spawned, p50 / p99 (ms, \(latencies.count) samples) | \(format(p50, decimals: 3)) / \(format(p99, decimals: 3)) | p99 ≤ 5 |")
        print("| cold start, 1,000 flat (s, median of \(flat.count); runs \(flat.map { format($0, decimals: 3) })) | \(format(flatMedian, decimals: 3)) | – |")
        print("| cold start, 1,000 in 10 dependency levels, `started` (s, median of \(layered.count); runs \(layered.map { format($0, decimals: 3) })) | \(format(layeredMedian, decimals: 3)) | – |")
        print("| layered / flat | \(format(layeredMedian / flatMedian, decimals: 3))× | ≤ 1.1× |")
    }

    static func median(_ values: [Double]) -> Double {
        RuntimeBenchmarks.percentile(values, 0.5)
    }

    /// One job/dependent pair at a time, so each sample is the path itself, not a queue.
    static func satisfiedToSpawned(_ rig: RuntimeBenchmarks.Rig) async -> [Double] {
        guard let dependencies = rig.dependencies else { return [] }
        let job = ManagedProcess(command: ["true"], restart: .never)
        let dependent = RuntimeBenchmarks.program(RuntimeBenchmarks.sleepForever)
        var nodes: [DependencyGraph.Node] = []
        for index in 0..<pairs {
            nodes.append(.init(id: "job-\(index)"))
            nodes.append(.init(id: "dependent-\(index)", edges: [.init(dependency: "job-\(index)", condition: .completedSuccessfully)]))
        }
        dependencies.setGraph(DependencyGraph(nodes))
        var samples: [Double] = []
        for index in 0..<pairs {
            rig.manager.update("dependent-\(index)", config: dependent, type: .create)
            rig.manager.update("job-\(index)", config: job, type: .create)
            guard let spawned = await rig.starts.waitForStart(of: "dependent-\(index)", after: 0, timeout: .seconds(10)),
                  let released = rig.exits.latest(of: "job-\(index)") else {
                print("warning: pair \(index) did not complete")
                continue
            }
            samples.append(released.duration(to: spawned).benchmarkSeconds)
        }
        return samples
    }

    /// Creates 1,000 processes and returns the seconds until every one is running.
    static func coldStart(_ rig: RuntimeBenchmarks.Rig, layered: Bool) async -> Double? {
        let levels = 10
        let width = 100
        let id = { (level: Int, index: Int) in "p-\(level)-\(index)" }
        var nodes: [DependencyGraph.Node] = []
        for level in 0..<levels {
            for index in 0..<width {
                let edges: [DependencyGraph.Edge] = (layered && level > 0)
                    ? [index, (index + 1) % width].map { .init(dependency: id(level - 1, $0), condition: .started) }
                    : []
                nodes.append(.init(id: id(level, index), edges: edges))
            }
        }
        rig.dependencies?.setGraph(DependencyGraph(nodes))
        // The dependents are created first, so a level never finds its dependencies already up.
        let ids = nodes.map(\.id).reversed()
        return await RuntimeBenchmarks.start(rig, Array(ids), config: RuntimeBenchmarks.program(RuntimeBenchmarks.sleepForever))?.benchmarkSeconds
    }
}
