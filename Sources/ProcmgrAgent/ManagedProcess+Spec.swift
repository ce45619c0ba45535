import Glibc
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
        let inherited = Self.inheritedEnvironment(agentEnvironment, runningAs: spec.user)
        self.init(
            command: spec.substitutingAgentExecutable(AgentExecutable.path).command,
            // Without `env:` the agent's own dictionary, shared (copy-on-write) by every such
            // process: a merged copy each was ~3-5 KiB per process, 30-50 MiB at 10,000.
            environment: spec.env.isEmpty ? inherited : inherited.merging(spec.env) { _, configured in configured },
            workingDirectory: spec.workingDir,
            port: port,
            restart: restart,
            backoff: backoff,
            terminationGracePeriod: spec.gracePeriod,
            stopSignal: spec.stopSignal.signalNumber,
            heartbeat: spec.heartbeat.map { HeartbeatSettings(interval: $0.interval, timeout: $0.timeout) },
            liveness: spec.liveness.map(ProbeSettings.init(spec:)),
            readiness: spec.readiness.map(ProbeSettings.init(spec:)),
            startup: spec.startup.map(ProbeSettings.init(spec:)),
            output: OutputCapture.Configuration(
                file: spec.logFile.map { OutputCapture.FileOutput(path: $0.path, maxBytes: $0.maxBytes, keep: $0.keep) }),
            notify: spec.notify.map(NotifySettings.init(spec:)),
            execution: ExecutionContext(spec: spec))
    }
}

extension ManagedProcess {
    /// The agent's environment as a child inherits it: running as another user, without the
    /// agent's `HOME`, `USER` and `LOGNAME` — the runtime sets the user's own, as login would,
    /// unless `env:` (or an env file) sets them.
    static func inheritedEnvironment(_ agentEnvironment: [String: String], runningAs user: String?) -> [String: String] {
        guard user != nil else { return agentEnvironment }
        return agentEnvironment.filter { !["HOME", "USER", "LOGNAME"].contains($0.key) }
    }
}

extension ExecutionContext {
    /// `user`, `group`, `limits` and `hooks` as the runtime applies them: the cgroup's caps, and
    /// each rlimit written as soft = hard (`nofile` without `limits.nofile`: the limit the agent
    /// started with, if it raised its own hard limit — ``DescriptorLimit/childDefault``).
    init(spec: ProcessSpec) {
        let limits = spec.limits
        let rlimits: [(ResourceLimitKind, UInt64?)] = [
            (.nofile, limits?.nofile ?? DescriptorLimit.childDefault), (.nproc, limits?.nproc), (.core, limits?.core), (.memlock, limits?.memlock), (.stack, limits?.stack),
        ]
        self.init(
            user: spec.user,
            group: spec.group,
            resourceLimits: rlimits.compactMap { kind, value in value.map { ResourceLimit(kind, $0) } },
            cgroupLimits: CgroupLimits(memoryBytes: limits?.memoryBytes, cpuCores: limits?.cpuCores, pids: limits?.pids),
            hooks: spec.hooks.map { HookSettings(preStart: $0.preStart, postStop: $0.postStop, timeout: $0.timeout) })
    }
}

extension NotifySettings {
    init(spec: NotifySpec) {
        let access: ProcmgrRuntime.NotifyAccess = switch spec.access {
        case .main: .main
        case .all: .all
        }
        self.init(watchdog: spec.watchdog, access: access)
    }
}

extension ProbeSettings {
    /// The runtime's view of a configured probe: a probe port written in the config wins over
    /// the process's own (`nil`).
    init(spec: ProbeSpec) {
        let action: Action = switch spec.action {
        case .http(let path, let port, let headers): .http(path: path, port: port.number, headers: headers)
        case .tcp(let port): .tcp(port: port.number)
        case .exec(let command): .exec(command: command)
        }
        self.init(
            action: action, interval: spec.interval, timeout: spec.timeout, failureThreshold: spec.failureThreshold,
            successThreshold: spec.successThreshold, initialDelay: spec.initialDelay)
    }
}

extension ProbeSpec.Port {
    /// A fixed port, or `nil` for the process's own.
    fileprivate var number: Int? {
        switch self {
        case .processPort: nil
        case .fixed(let port): Int(port)
        }
    }
}

/// The running procmgr binary, for `${PROCMGR}` in commands.
enum AgentExecutable {
    /// `/proc/self/exe` resolved once (the path the kernel exec'd, whatever `argv[0]` says).
    static let path: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments.first ?? "procmgr" }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
