/// How one scheduled run ended: the `result` label of `procmgr_job_runs_total`.
public enum JobRunResult: String, Sendable, Hashable, CaseIterable {
    /// Exited with status 0.
    case success
    /// Exited otherwise (non-zero status, a signal, a failed start).
    case failure
    /// Not started: the previous run still ran and `concurrency: forbid`.
    case skipped
    /// Stopped because the next run started (`concurrency: replace`).
    case replaced
}
