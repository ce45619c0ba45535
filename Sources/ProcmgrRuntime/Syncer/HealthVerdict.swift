/// The result of one probe, as counted in `procmgr_health_checks_total{result}`.
enum HealthCheckResult: String, Sendable, Hashable, CaseIterable {
    case success, failure, timeout
}

/// Turns a child's probe results into healthy / unhealthy transitions (thresholds of
/// consecutive results, as kubelet's prober does). A value type with no I/O: the probe loop
/// feeds it and performs what it returns.
///
/// A child starts *not yet healthy*: it becomes healthy after `successThreshold` successes in a
/// row, and unhealthy after `failureThreshold` failures (or timeouts) in a row, whether or not
/// it was ever healthy (a program that never answers must be restarted too).
struct HealthVerdict: Sendable, Hashable {
    enum Transition: Sendable, Hashable {
        case becameHealthy
        case becameUnhealthy
    }

    private enum State: Sendable, Hashable {
        case pending
        case healthy
        case unhealthy
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

    var isHealthy: Bool { state == .healthy }

    /// Records one result; returns the transition it causes, if any.
    mutating func record(_ result: HealthCheckResult) -> Transition? {
        if result == .success {
            successesInRow += 1
            failuresInRow = 0
            guard state != .healthy, successesInRow >= successThreshold else { return nil }
            state = .healthy
            return .becameHealthy
        }
        failuresInRow += 1
        successesInRow = 0
        guard state != .unhealthy, failuresInRow >= failureThreshold else { return nil }
        state = .unhealthy
        return .becameUnhealthy
    }
}
