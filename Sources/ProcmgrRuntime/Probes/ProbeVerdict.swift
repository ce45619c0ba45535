/// Turns one probe's results into passing / failing transitions: thresholds of consecutive
/// results, as kubelet's prober worker counts them. A value type with no I/O.
///
/// It starts *not yet passing*: it passes after `successThreshold` successes in a row and fails
/// after `failureThreshold` failures (or timeouts) in a row, whether or not it ever passed (a
/// program that never answers must be restarted too).
struct ProbeThreshold: Sendable, Hashable {
    enum Transition: Sendable, Hashable {
        case passed
        case failed
    }

    private enum State: Sendable, Hashable {
        case pending
        case passing
        case failing
    }

    private let successThreshold: Int
    private let failureThreshold: Int
    private var state = State.pending
    private var successesInRow = 0
    private var failuresInRow = 0

    init(successThreshold: Int, failureThreshold: Int) {
        self.successThreshold = max(1, successThreshold)
        self.failureThreshold = max(1, failureThreshold)
    }

    var isPassing: Bool { state == .passing }

    /// Records one result; returns the transition it causes, if any.
    mutating func record(_ result: ProbeResult) -> Transition? {
        if result == .success {
            successesInRow += 1
            failuresInRow = 0
            guard state != .passing, successesInRow >= successThreshold else { return nil }
            state = .passing
            return .passed
        }
        failuresInRow += 1
        successesInRow = 0
        guard state != .failing, failuresInRow >= failureThreshold else { return nil }
        state = .failing
        return .failed
    }
}

/// The probes of one running child (kubelet's semantics across the three):
/// - startup holds liveness and readiness: until it first passes, only it is checked; once it
///   passed it is never checked again for this child; failing it restarts (reason `startup`);
/// - liveness failing restarts (reason `liveness`); after that nothing more is checked;
/// - readiness flips `ready` both ways and never restarts; it starts not ready.
/// A probe that is not configured counts as passing.
///
/// A value type with no I/O and no clock: the shared scheduler feeds results and performs the
/// effects it returns, so the policy is tested synchronously.
struct ProbeVerdict: Sendable, Hashable {
    typealias Kind = ProbeSettings.Kind

    /// What a result changed.
    enum Effect: Sendable, Hashable {
        /// Startup passed: liveness and readiness begin.
        case startupPassed
        /// Liveness flipped.
        case healthy(Bool)
        /// Readiness flipped.
        case ready(Bool)
        /// Restart the program with this reason (startup or liveness failed its threshold).
        case restart(CheckKind)
    }

    private var thresholds: [Kind: ProbeThreshold] = [:]
    private(set) var startupPassed: Bool
    /// A probe failed its threshold in a way that restarts: nothing is checked any more.
    private(set) var stopped = false

    init(liveness: ProbeSettings?, readiness: ProbeSettings?, startup: ProbeSettings?) {
        let configured: [(Kind, ProbeSettings?)] = [(.liveness, liveness), (.readiness, readiness), (.startup, startup)]
        // success_threshold as given: the config requires 1 for liveness and startup (kubelet's
        // rule); the runtime does what it is told.
        for case let (kind, settings?) in configured {
            thresholds[kind] = ProbeThreshold(successThreshold: settings.successThreshold, failureThreshold: settings.failureThreshold)
        }
        startupPassed = startup == nil
    }

    /// Liveness passing (true without one).
    var healthy: Bool { thresholds[.liveness]?.isPassing ?? true }
    /// Readiness passing (true without one).
    var ready: Bool { thresholds[.readiness]?.isPassing ?? true }

    /// Whether `kind` is to be checked now.
    func isActive(_ kind: Kind) -> Bool {
        guard !stopped, thresholds[kind] != nil else { return false }
        return kind == .startup ? !startupPassed : startupPassed
    }

    /// The probes to schedule now: startup alone until it passed, then the other two.
    var activeKinds: [Kind] { Kind.allCases.filter(isActive) }

    /// Records a result of `kind`; results of a probe that is not active are ignored.
    mutating func record(_ kind: Kind, _ result: ProbeResult) -> [Effect] {
        guard isActive(kind), let transition = thresholds[kind]?.record(result) else { return [] }
        switch (kind, transition) {
        case (.startup, .passed):
            startupPassed = true
            return [.startupPassed]
        case (.startup, .failed):
            stopped = true
            return [.restart(.startup)]
        case (.liveness, .passed):
            return [.healthy(true)]
        case (.liveness, .failed):
            stopped = true
            return [.healthy(false), .restart(.liveness)]
        case (.readiness, let transition):
            return [.ready(transition == .passed)]
        }
    }
}
