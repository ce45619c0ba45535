/// A worker entered a lifecycle state: what ``ProcessManager/observeStates(_:)`` reports, so an
/// observer (the agent's event stream, its dependency coordinator) needs no query to say what
/// changed and why.
public struct StateTransition: Sendable, Hashable {
    public var process: ProcessID
    /// The state left; nil when the worker was just created (it enters `starting`).
    public var from: ProcessState?
    public var to: ProcessState
    /// Why termination began (`requested`, `exited; restart: never`, …); set from `terminating` on.
    public var reason: String?

    public init(process: ProcessID, from: ProcessState?, to: ProcessState, reason: String? = nil) {
        self.process = process
        self.from = from
        self.to = to
        self.reason = reason
    }
}
