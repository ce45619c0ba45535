public import ProcmgrEngine

extension ProcessRuntime {
    /// The config the process's current program was started with, or `nil` when no program
    /// runs. A rolling restart counts a replica as updated only once its program runs the new
    /// config: the config the engine was given says nothing about what runs.
    public func runningConfig(of id: ProcessID) -> ManagedProcess? {
        instances.withLock { $0[id]?.child?.config }
    }

    /// How the process's last program ended (a scheduled job's run result), `nil` before any exit.
    public func lastExitStatus(of id: ProcessID) -> ProcessExitStatus? {
        instances.withLock { $0[id]?.lastExit }
    }
}
