import Prometheus
import ProcmgrMetrics

/// Hot-path and exposition cost of our registry beside swift-prometheus 2.4.1, same process,
/// same series.
enum RegistryBenchmarks {
    static let operations = 20_000_000
    static let repetitions = 5

    static func hotPath() async {
        let ours = MetricsRegistry()
        let ourCounter = try! ours.counter(name: "bench_total", help: "h")
        let ourHistogram = try! ours.histogram(name: "bench_seconds", help: "h")
        let theirs = PrometheusCollectorRegistry()
        let theirCounter = theirs.makeCounter(descriptor: descriptor("bench_total", help: "h"))
        let theirHistogram = theirs.makeValueHistogram(descriptor: descriptor("bench_seconds", help: "h"), buckets: HistogramBuckets.defaultSeconds)

        let observed = 0.042
        let rows: [[String]] = [
            ["counter increment", "1", await perOp(tasks: 1) { ourCounter.increment() }, await perOp(tasks: 1) { theirCounter.increment() }, "≤ 20"],
            ["counter increment", "2 (same handle)", await perOp(tasks: 2) { ourCounter.increment() }, await perOp(tasks: 2) { theirCounter.increment() }, "≤ 50"],
            ["histogram observe", "1", await perOp(tasks: 1) { ourHistogram.observe(observed) }, await perOp(tasks: 1) { theirHistogram.record(observed) }, "≤ 20"],
            ["histogram observe", "2 (same handle)", await perOp(tasks: 2) { ourHistogram.observe(observed) }, await perOp(tasks: 2) { theirHistogram.record(observed) }, "≤ 50"],
        ]
        printTable(
            "Registry hot path: ns per operation per task (min/median/max of \(repetitions) runs of \(operations) ops)",
            header: ["operation", "tasks", "procmgr", "swift-prometheus 2.4.1", "goal (procmgr)"], rows: rows)
        blackHole(ourCounter.value)
    }

    /// Nanoseconds per call when `tasks` tasks each make `operations / tasks` calls at once.
    private static func perOp(tasks: Int, _ operation: @escaping @Sendable () -> Void) async -> String {
        let perTask = operations / tasks
        let sample = await measure(repetitions: repetitions) {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<perTask { operation() }
                    }
                }
            }
        }
        return Sample(values: sample.values.map { $0 / Double(perTask) * 1e9 }).description
    }

    /// Builds the engine's families for `processes` processes in both registries and times one
    /// exposition of each.
    static func exposition(processes: Int) async -> [String] {
        let states = ["starting", "running", "terminating", "terminated", "finished"]
        let phases = ["spawn", "sync", "terminating"]

        let ours = MetricsRegistry()
        let transitions = try! ours.counterFamily(name: "procmgr_state_transitions_total", help: "Entries of each process into each lifecycle state.", labelNames: ["process", "state"])
        let errors = try! ours.counterFamily(name: "procmgr_errors_total", help: "Errors by process and lifecycle phase.", labelNames: ["process", "phase"])
        let since = try! ours.gaugeFamily(name: "procmgr_process_terminating_since_seconds", help: "Unix time termination began.", labelNames: ["process"])
        let grace = try! ours.gaugeFamily(name: "procmgr_process_grace_period_seconds", help: "Effective grace period.", labelNames: ["process"])
        let byState = try! ours.gaugeFamily(name: "procmgr_processes", help: "Processes in each state.", labelNames: ["state"])
        let sync = try! ours.histogramFamily(name: "procmgr_sync_duration_seconds", help: "Time in each syncer call.", labelNames: ["operation"])

        let theirs = PrometheusCollectorRegistry()
        for (index, state) in states.enumerated() {
            byState.labels([state]).set(Double(index * 7))
            theirs.makeGauge(descriptor: descriptor("procmgr_processes", help: "Processes in each state."), labels: [("state", state)]).set(Double(index * 7))
        }
        for operation in ["sync", "terminating", "terminated"] {
            let ourHistogram = sync.labels([operation])
            let theirHistogram = theirs.makeValueHistogram(descriptor: descriptor("procmgr_sync_duration_seconds", help: "Time in each syncer call."), labels: [("operation", operation)], buckets: HistogramBuckets.defaultSeconds)
            for value in stride(from: 0.001, to: 2, by: 0.01) {
                ourHistogram.observe(value)
                theirHistogram.record(value)
            }
        }
        for index in 0..<processes {
            let process = "worker-\(index)"
            for (offset, state) in states.enumerated() {
                transitions.labels([process, state]).increment(by: offset + 1)
                theirs.makeCounter(descriptor: descriptor("procmgr_state_transitions_total", help: "Entries of each process into each lifecycle state."), labels: [("process", process), ("state", state)]).increment(by: Int64(offset + 1))
            }
            for phase in phases {
                errors.labels([process, phase]).increment(by: index % 5)
                theirs.makeCounter(descriptor: descriptor("procmgr_errors_total", help: "Errors by process and lifecycle phase."), labels: [("process", process), ("phase", phase)]).increment(by: Int64(index % 5))
            }
            since.labels([process]).set(1_763_800_000.25 + Double(index))
            theirs.makeGauge(descriptor: descriptor("procmgr_process_terminating_since_seconds", help: "Unix time termination began."), labels: [("process", process)]).set(1_763_800_000.25 + Double(index))
            grace.labels([process]).set(30)
            theirs.makeGauge(descriptor: descriptor("procmgr_process_grace_period_seconds", help: "Effective grace period."), labels: [("process", process)]).set(30.0)
        }

        var ourBuffer: [UInt8] = []
        var theirBuffer: [UInt8] = []
        let repetitions = processes >= 10_000 ? 7 : 21
        let ourSample = await measure(repetitions: repetitions) {
            ourBuffer.removeAll(keepingCapacity: true)
            ours.writeExposition(into: &ourBuffer)
        }
        let theirSample = await measure(repetitions: repetitions) {
            theirBuffer.removeAll(keepingCapacity: true)
            theirs.emit(into: &theirBuffer)
        }
        let ratio = theirSample.median / ourSample.median
        return [
            "\(processes)",
            "\(processes * 10 + 8)",
            Sample(values: ourSample.values.map { $0 * 1e3 }).description,
            "\(ourBuffer.count)",
            Sample(values: theirSample.values.map { $0 * 1e3 }).description,
            "\(theirBuffer.count)",
            format(ratio, decimals: 1) + "×",
        ]
    }

    static func expositionTable() async {
        var rows: [[String]] = []
        for processes in [1_000, 10_000] { rows.append(await exposition(processes: processes)) }
        printTable(
            "Exposition of the engine's families (10 series per process): ms per scrape, min/median/max",
            header: ["processes", "series", "procmgr ms", "procmgr bytes", "swift-prometheus ms", "swift-prometheus bytes", "speed-up (median)"],
            rows: rows)
    }
}

/// swift-prometheus's non-deprecated way to name a metric (an empty unit is left out of the name).
private func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}
