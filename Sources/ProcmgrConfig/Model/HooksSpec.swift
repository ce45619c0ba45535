/// Commands run around a process's life (`hooks:`), in the process's own context (user, env,
/// working directory, limits).
///
/// `preStart` runs before every start; its failure or timeout is a start failure (with backoff).
/// `postStop` runs once the process's group is empty; its failure is logged and counted, and it
/// never delays the next start by more than `timeout`.
public struct HooksSpec: Sendable, Hashable {
    /// Program and arguments, run as written (no `${...}` substitution).
    public var preStart: [String]?
    public var postStop: [String]?
    /// How long each hook may run before it is killed and counted as failed.
    public var timeout: Duration

    public init(preStart: [String]? = nil, postStop: [String]? = nil, timeout: Duration = ConfigDefaults.hookTimeout) {
        self.preStart = preStart
        self.postStop = postStop
        self.timeout = timeout
    }
}
