public import ProcmgrConfig
public import ProcmgrRuntime
import ProcmgrEngine

extension ManagedProcess {
    /// The runtime's view of a configured process.
    ///
    /// The config module knows nothing of the runtime and the runtime nothing of the config
    /// format; this is the one place the two meet. The child's environment is the agent's own with
    /// the config's `env` laid over it, captured at reload time: an agent whose environment
    /// changed does not restart its processes until their config does.
    public init(spec: ProcessSpec, agentEnvironment: [String: String]) {
        let backoff = RestartBackoff(
            delays: Backoff(initial: spec.backoff.initial, maximum: spec.backoff.max,
                            multiplier: spec.backoff.multiplier, jitter: spec.backoff.jitter),
            resetAfter: spec.backoff.resetAfter)
        let port: PortRequest = switch spec.port {
        case .none: .none
        case .auto: .auto
        case .fixed(let number): .fixed(Int(number))
        }
        let restart: ProcmgrRuntime.RestartPolicy = switch spec.restart {
        case .always: .always
        case .onFailure: .onFailure
        case .never: .never
        }
        self.init(
            command: spec.command,
            environment: agentEnvironment.merging(spec.env) { _, configured in configured },
            workingDirectory: spec.workingDir,
            port: port,
            restart: restart,
            backoff: backoff,
            terminationGracePeriod: spec.gracePeriod,
            stopSignal: spec.stopSignal.signalNumber,
            heartbeat: spec.heartbeat.map { HeartbeatSettings(interval: $0.interval, timeout: $0.timeout) },
            health: spec.liveness.flatMap(Self.healthProbe),
            output: OutputCapture.Configuration(
                file: spec.logFile.map { OutputCapture.FileOutput(path: $0.path, maxBytes: $0.maxBytes, keep: $0.keep) }))
    }

    /// Today's runtime probes only HTTP on the process's own port; the mapping of other probe kinds arrives with the runtime probes.
    private static func healthProbe(_ probe: ProbeSpec) -> HealthProbeSettings? {
        guard case .http(let path, .processPort, _) = probe.action else { return nil }
        return HealthProbeSettings(
            path: path, interval: probe.interval, timeout: probe.timeout, failureThreshold: probe.failureThreshold,
            successThreshold: probe.successThreshold, initialDelay: probe.initialDelay)
    }
}
