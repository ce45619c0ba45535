import ProcmgrEngine
import ProcmgrMetrics

/// The runtime's metric families (SPEC §3.4). Per-process series are removed by the terminated
/// hook, so a purged process leaves nothing behind; which label values to remove comes from the
/// label enums' `allCases`, never from a list kept beside them.
struct RuntimeMetrics: Sendable {
    static let healthResults = ProbeResult.allCases.map(\.rawValue)

    let restarts: CounterFamily
    let errors: CounterFamily
    let portsInUse: Gauge
    let healthy: GaugeFamily
    let healthChecks: CounterFamily
    let ready: GaugeFamily
    let probeChecks: CounterFamily
    let probeDuration: HistogramFamily
    let heartbeatLatency: HistogramFamily
    let heartbeatTimeouts: CounterFamily
    let childCPU: CounterFamily
    let childMemory: GaugeFamily
    let childResourceSampleAge: Gauge
    let guardianUp: Gauge
    let stateFileLastWrite: Gauge
    let childOutputSuppressed: CounterFamily
    let notifyMessages: CounterFamily
    let oomKills: CounterFamily
    let childMemoryLimit: GaugeFamily
    let childCPUThrottled: CounterFamily
    let cgroupsEnabled: Gauge
    let spawnsPaused: Gauge

    init(registry: MetricsRegistry) throws(MetricsRegistryError) {
        restarts = try registry.counterFamily(
            name: "procmgr_restarts_total", help: "Restarts of managed processes by reason.", labelNames: ["process", "reason"])
        errors = try registry.counterFamily(
            name: "procmgr_errors_total", help: "Errors by process and lifecycle phase.", labelNames: ["process", "phase"])
        portsInUse = try registry.gauge(name: "procmgr_ports_in_use", help: "Ports allocated to managed processes.")
        healthy = try registry.gaugeFamily(
            name: "procmgr_process_healthy", help: "1 when the process is running and its checks pass, else 0.", labelNames: ["process"])
        healthChecks = try registry.counterFamily(
            name: "procmgr_health_checks_total", help: "Liveness probe results (the probe `health:` configured before probes had kinds).",
            labelNames: ["process", "result"])
        ready = try registry.gaugeFamily(
            name: "procmgr_process_ready", help: "1 while the process runs and its readiness probe (and READY=1, with notify) holds, else 0.",
            labelNames: ["process"])
        probeChecks = try registry.counterFamily(
            name: "procmgr_probe_checks_total", help: "Probe results by probe kind.", labelNames: ["process", "probe", "result"])
        // 1 ms to about 16 s: a local connect takes well under a millisecond, an exec a few, a stuck check its timeout.
        probeDuration = try registry.histogramFamily(
            name: "procmgr_probe_duration_seconds", help: "Time one probe check took, by probe kind and result.",
            labelNames: ["process", "probe", "result"], buckets: HistogramBuckets.exponential(start: 0.001, factor: 2, count: 15))
        // 50 µs to about 13 s: a local PONG takes tens of microseconds, a stuck child seconds.
        heartbeatLatency = try registry.histogramFamily(
            name: "procmgr_heartbeat_latency_seconds", help: "Heartbeat PING to PONG round trip.",
            labelNames: ["process"], buckets: HistogramBuckets.exponential(start: 0.00005, factor: 2, count: 19))
        heartbeatTimeouts = try registry.counterFamily(
            name: "procmgr_heartbeat_timeouts_total", help: "Heartbeats not answered within the timeout.", labelNames: ["process"])
        childCPU = try registry.counterFamily(
            name: "procmgr_child_cpu_seconds_total", help: "CPU time of the process (its cgroup, or its process group from /proc without one), across restarts.", labelNames: ["process"])
        childMemory = try registry.gaugeFamily(
            name: "procmgr_child_resident_memory_bytes", help: "Resident memory of the process (its cgroup, or its process group from /proc without one).", labelNames: ["process"])
        childResourceSampleAge = try registry.gauge(
            name: "procmgr_child_resource_sample_age_seconds",
            help: "Seconds since the oldest sample behind the procmgr_child_cpu/memory series was taken (a running program not yet sampled: since it started); 0 with no running program. Samples are taken in the background, paced by a CPU budget, only while /metrics is scraped.")
        guardianUp = try registry.gauge(
            name: "procmgr_guardian_up", help: "1 while a guardian process protects the children (orphans: kill), else 0.")
        stateFileLastWrite = try registry.gauge(
            name: "procmgr_state_file_last_write_success_timestamp_seconds", help: "Unix time of the last successful write of children.json (0: none yet).")
        childOutputSuppressed = try registry.counterFamily(
            name: "procmgr_child_output_suppressed_lines_total",
            help: "Output lines of the process kept out of the agent's own log by its rate limit (the logs API keeps them).",
            labelNames: ["process"])
        notifyMessages = try registry.counterFamily(
            name: "procmgr_notify_messages_total",
            help: "sd_notify datagrams received on the process's NOTIFY_SOCKET, by what became of them.",
            labelNames: ["process", "result"])
        oomKills = try registry.counterFamily(
            name: "procmgr_oom_kills_total",
            help: "Processes killed by the kernel's OOM killer inside the process's cgroup (limits.memory).", labelNames: ["process"])
        childMemoryLimit = try registry.gaugeFamily(
            name: "procmgr_child_memory_limit_bytes", help: "The memory limit of the process's cgroup (limits.memory); absent without one.",
            labelNames: ["process"])
        childCPUThrottled = try registry.counterFamily(
            name: "procmgr_child_cpu_throttled_seconds_total",
            help: "Time the process's cgroup was throttled by its CPU quota (limits.cpu), from the cgroup.", labelNames: ["process"])
        cgroupsEnabled = try registry.gauge(
            name: "procmgr_cgroups_enabled",
            help: "1 when every process runs in a cgroup of its own (membership, limits, OOM detection), 0 on the process-group fallback.")
        spawnsPaused = try registry.gauge(
            name: "procmgr_spawns_paused",
            help: "1 while every spawn waits because the agent ran out of descriptors (EMFILE/ENFILE at spawn; one probe spawn retries, the pause doubling from 50 ms to 5 s), else 0.")
    }

    /// Agent-level errors (`procmgr_errors_total{process="",phase=…}`): no process to name.
    func agentError(phase: ErrorPhase) {
        errors.labels(["", phase.rawValue]).increment()
    }

    func restart(_ process: ProcessID, reason: RestartReason) {
        restarts.labels([process, reason.rawValue]).increment()
    }

    func error(_ process: ProcessID, phase: ErrorPhase) {
        errors.labels([process, phase.rawValue]).increment()
    }

    /// Removes every series of a process.
    func purge(process: ProcessID) {
        for reason in RestartReason.allCases { restarts.remove([process, reason.rawValue]) }
        for phase in ErrorPhase.recorded(by: .runtime) { errors.remove([process, phase.rawValue]) }
        healthy.remove([process])
        for result in ProbeResult.allCases { healthChecks.remove([process, result.rawValue]) }
        ready.remove([process])
        for kind in ProbeSettings.Kind.allCases {
            for result in ProbeResult.allCases {
                probeChecks.remove([process, kind.rawValue, result.rawValue])
                probeDuration.remove([process, kind.rawValue, result.rawValue])
            }
        }
        heartbeatLatency.remove([process])
        heartbeatTimeouts.remove([process])
        childCPU.remove([process])
        childMemory.remove([process])
        childOutputSuppressed.remove([process])
        for result in NotifyMessageResult.allCases { notifyMessages.remove([process, result.rawValue]) }
        oomKills.remove([process])
        childMemoryLimit.remove([process])
        childCPUThrottled.remove([process])
    }
}
