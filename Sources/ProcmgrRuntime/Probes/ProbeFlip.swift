/// A probe's verdict changed (its success or failure threshold was reached): what the runtime
/// reports through ``ProcessRuntime/EngineHooks/probeFlipped`` — once per flip, never per check,
/// so the agent's event stream shows changes, not traffic.
public struct ProbeFlip: Sendable, Hashable {
    public var probe: ProbeSettings.Kind
    /// The verdict now: passing (true) or failing.
    public var passing: Bool
    /// The result of the check that flipped it: `success`, `failure` or `timeout`.
    public var lastResult: String

    public init(probe: ProbeSettings.Kind, passing: Bool, lastResult: String) {
        self.probe = probe
        self.passing = passing
        self.lastResult = lastResult
    }
}

extension ProbeVerdict.Effect {
    /// The flip this effect reports, if any (a restart after a liveness failure was already
    /// reported as `healthy(false)`).
    func flip(result: ProbeResult) -> ProbeFlip? {
        switch self {
        case .startupPassed: ProbeFlip(probe: .startup, passing: true, lastResult: result.rawValue)
        case .restart(.startup): ProbeFlip(probe: .startup, passing: false, lastResult: result.rawValue)
        case .restart: nil
        case .healthy(let healthy): ProbeFlip(probe: .liveness, passing: healthy, lastResult: result.rawValue)
        case .ready(let ready): ProbeFlip(probe: .readiness, passing: ready, lastResult: result.rawValue)
        }
    }
}
