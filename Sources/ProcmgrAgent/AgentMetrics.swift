import ProcmgrEngine
public import ProcmgrMetrics

/// The agent's own families (SPEC §3.4): config reloads and build info. The engine, runtime and
/// HTTP server register theirs; `procmgr_errors_total` is shared (families are idempotent) and
/// the agent records phase `config` in it with an empty `process` label, which Prometheus drops.
public struct AgentMetrics: Sendable {
    let reloadSuccesses: Counter
    let reloadFailures: Counter
    let lastReloadSuccess: Gauge
    let configErrors: Counter

    public init(registry: MetricsRegistry, version: String) throws(MetricsRegistryError) {
        let reloads = try registry.counterFamily(
            name: "procmgr_config_reloads_total", help: "Config loads and reloads by result.", labelNames: ["result"])
        reloadSuccesses = reloads.labels(["success"])
        reloadFailures = reloads.labels(["failure"])
        lastReloadSuccess = try registry.gauge(
            name: "procmgr_config_last_reload_success_timestamp_seconds",
            help: "Unix time of the last config load or reload that was applied.")
        configErrors = try registry.counterFamily(
            name: "procmgr_errors_total", help: "Errors by process and lifecycle phase.", labelNames: ["process", "phase"]
        ).labels(["", ErrorPhase.config.rawValue])
        try registry.gaugeFamily(
            name: "procmgr_build_info", help: "Always 1; the version label says which procmgr is running.",
            labelNames: ["version"]
        ).labels([version]).set(1)
    }

    func recordReload(success: Bool, at unixTime: Double) {
        if success {
            reloadSuccesses.increment()
            lastReloadSuccess.set(unixTime)
        } else {
            reloadFailures.increment()
            configErrors.increment()
        }
    }
}

/// The version `procmgr_build_info` and `procmgr --version` report.
public enum ProcmgrVersion {
    public static let current = "0.4.0"
}
