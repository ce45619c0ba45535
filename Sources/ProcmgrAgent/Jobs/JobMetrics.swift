import ProcmgrMetrics

/// `procmgr_job_runs_total{process,result}` and `procmgr_job_last_success_timestamp_seconds{process}`
/// (SPEC §3.4); a removed job's series go with it.
struct JobMetrics: Sendable {
    private let runs: CounterFamily
    private let lastSuccess: GaugeFamily

    init(registry: MetricsRegistry) throws(MetricsRegistryError) {
        runs = try registry.counterFamily(
            name: "procmgr_job_runs_total", help: "Scheduled job runs by how they ended.", labelNames: ["process", "result"])
        lastSuccess = try registry.gaugeFamily(
            name: "procmgr_job_last_success_timestamp_seconds", help: "Unix time at which the job's last successful run ended.",
            labelNames: ["process"])
    }

    func record(_ id: String, _ result: JobRunResult, at unixTime: Double) {
        runs.labels([id, result.rawValue]).increment()
        if result == .success { lastSuccess.labels([id]).set(unixTime) }
    }

    func remove(_ id: String) {
        for result in JobRunResult.allCases { runs.remove([id, result.rawValue]) }
        lastSuccess.remove([id])
    }
}
