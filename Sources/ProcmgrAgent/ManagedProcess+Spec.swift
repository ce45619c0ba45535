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
            liveness: spec.health.map { health in
                switch health.probe {
                case .http(let path):
                    ProbeSettings(
                        action: .http(path: path, port: nil, headers: [:]), interval: health.interval, timeout: health.timeout,
                        failureThreshold: health.failureThreshold, successThreshold: health.successThreshold, initialDelay: health.initialDelay)
                }
            },
            output: OutputCapture.Configuration(
                file: spec.logFile.map { OutputCapture.FileOutput(path: $0.path, maxBytes: $0.maxBytes, keep: $0.keep) }))
    }
}
