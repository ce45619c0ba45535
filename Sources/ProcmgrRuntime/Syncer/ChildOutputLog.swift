import Logging
import ProcmgrMetrics
import ProcmgrSupport

/// Whether and how much of the children's output is copied into the agent's own log
/// (`agent.log_child_output`). The `/logs` API and `log_file` are not affected.
public struct ChildOutputLogging: Sendable, Hashable {
    public var enabled: Bool
    /// Lines a process may log at once before the rate applies.
    public var burst: Int
    /// Lines per second a process may log on average.
    public var linesPerSecond: Double
    /// How often a process that is being held back says how many lines were.
    public var noteInterval: Duration

    public init(enabled: Bool = true, burst: Int = 100, linesPerSecond: Double = 50, noteInterval: Duration = .seconds(5)) {
        self.enabled = enabled
        self.burst = burst
        self.linesPerSecond = linesPerSecond
        self.noteInterval = noteInterval
    }
}

/// One process's output as it goes to the agent's log: escaped (``LogEscaping``), rate-limited
/// (``OutputThrottle``), with what was held back counted in
/// `procmgr_child_output_suppressed_lines_total{process}` and noted in the log now and then.
/// Kept across restarts of the program, like its recent lines. Called on the capture thread.
final class ChildOutputLog: Sendable {
    private let process: String
    private let logger: Logger
    private let suppressed: Counter
    private let throttle: LockedState<OutputThrottle<ContinuousClock.Instant>>

    init(process: String, settings: ChildOutputLogging, logger: Logger, suppressed: Counter) {
        self.process = process
        self.logger = logger
        self.suppressed = suppressed
        throttle = LockedState(OutputThrottle(
            burst: settings.burst, linesPerSecond: settings.linesPerSecond, noteInterval: settings.noteInterval,
            now: ContinuousClock.now))
    }

    func log(_ line: CapturedLine) {
        let now = ContinuousClock.now
        let decision = throttle.withLock { $0.admit(now: now) }
        if let count = decision.noteSuppressed { noteSuppressed(count) }
        if decision.log {
            logger.info("\(LogEscaping.escaped(line.text))", metadata: ["process": "\(process)", "stream": "\(line.stream.rawValue)"])
        } else {
            suppressed.increment()
        }
    }

    /// Notes what is still held back (the program stopped: no later line will).
    func flush() {
        let now = ContinuousClock.now
        if let count = throttle.withLock({ $0.flush(now: now) }) { noteSuppressed(count) }
    }

    private func noteSuppressed(_ count: Int) {
        logger.notice(
            "output rate limit: suppressed \(count) lines of this process in the agent's log (the logs API and log_file keep them)",
            metadata: ["process": "\(process)"])
    }
}
