import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrRuntime

/// A registry shaped like a real agent's with `processes` managed processes,
/// 20 series each, built through the same families the engine registers
/// (spec §3.4), so the exposition has realistic names, labels and values.
/// The label values are the real ones, taken from the label enums, sorted: the order the
/// recorded figures drew their random values in.
enum SyntheticAgent {
    private static let states = ProcessState.allCases.map(\.description).sorted()
    private static let reasons = RestartReason.allCases.map(\.rawValue).sorted()
    /// Every phase but `state`, which is newer than the recorded figures (BENCHMARKS.md): the
    /// measured exposition stays the one they were taken with.
    private static let phases = ErrorPhase.allCases.filter { $0 != .state }.map(\.rawValue).sorted()
    static let seriesPerProcess = states.count + reasons.count + phases.count + 3

    static func registry(processes: Int) throws -> MetricsRegistry {
        let registry = MetricsRegistry()
        let transitions = try registry.counterFamily(
            name: "procmgr_state_transitions_total", help: "Entries into each state.", labelNames: ["process", "state"])
        let restarts = try registry.counterFamily(
            name: "procmgr_restarts_total", help: "Restarts by reason.", labelNames: ["process", "reason"])
        let errors = try registry.counterFamily(
            name: "procmgr_errors_total", help: "Errors by phase.", labelNames: ["process", "phase"])
        let healthy = try registry.gaugeFamily(
            name: "procmgr_process_healthy", help: "1 healthy, 0 not.", labelNames: ["process"])
        let cpu = try registry.counterFamily(
            name: "procmgr_child_cpu_seconds_total", help: "CPU time of the process group.", labelNames: ["process"])
        let memory = try registry.gaugeFamily(
            name: "procmgr_child_resident_memory_bytes", help: "Resident memory of the process group.", labelNames: ["process"])

        var random = SplitMix64(seed: 42)
        for index in 0..<processes {
            let id = "svc-\(index)"
            for state in states { transitions.labels(id, state).increment(by: Int(random.next() % 50)) }
            for reason in reasons { restarts.labels(id, reason).increment(by: Int(random.next() % 5)) }
            for phase in phases { errors.labels(id, phase).increment(by: Int(random.next() % 3)) }
            healthy.labels(id).set(random.next() % 10 == 0 ? 0 : 1)
            cpu.labels(id).increment(by: Double(random.next() % 1_000_000) / 1000)
            memory.labels(id).set(Double(20_000_000 + random.next() % 500_000_000))
        }
        return registry
    }
}

/// A tiny deterministic generator, so every run measures the same exposition.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
