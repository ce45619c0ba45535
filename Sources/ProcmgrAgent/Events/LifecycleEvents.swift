import ProcmgrEngine
import ProcmgrHTTP
import ProcmgrRuntime
import ProcmgrSupport

/// Turns what the engine and the runtime report (state transitions, exits, restarts, probe
/// flips, condition changes) into events on the agent's ``EventJournal``.
///
/// Every entry point is called from a hook that runs outside the engine's and the runtime's
/// locks, and costs one ``EventJournal/publish(_:)`` (one lock, no allocation beyond the event):
/// a restart storm is not slowed by its own events. Readiness is the one derived event: the
/// runtime says only *that* a process's conditions changed, so the last readiness published per
/// process is remembered here and an event goes out when it differs.
final class LifecycleEvents: Sendable {
    let journal: EventJournal
    private let conditions: @Sendable (ProcessID) -> ProcessConditions?
    /// The readiness last published per live process (absent: not ready, as before a first program).
    private let lastReady = LockedState<[ProcessID: Bool]>([:])

    /// - Parameter conditions: the process's conditions now (the runtime's ``ProcessRuntime/conditions(of:)``).
    init(journal: EventJournal, conditions: @escaping @Sendable (ProcessID) -> ProcessConditions?) {
        self.journal = journal
        self.conditions = conditions
    }

    /// A worker entered a state. Terminated workers forget their readiness: an id created anew
    /// starts from "not ready".
    func stateEntered(_ transition: StateTransition) {
        journal.publish(.state(transition))
        if transition.to >= .terminated { lastReady.withLock { $0[transition.process] = nil } }
    }

    func programStarted(_ id: ProcessID, pid: Int32) {
        journal.publish(.start(process: id, pid: pid))
    }

    func programExited(_ id: ProcessID, pid: Int32, status: ProcessExitStatus) {
        journal.publish(.exit(process: id, pid: pid, status: status))
    }

    func oomKilled(_ id: ProcessID, kills: UInt64) {
        journal.publish(.oom(process: id, kills: kills))
    }

    func restartDecided(_ id: ProcessID, reason: RestartReason, restarts: Int?) {
        journal.publish(.restart(process: id, reason: reason, restarts: restarts))
    }

    func probeFlipped(_ id: ProcessID, _ flip: ProbeFlip) {
        journal.publish(.probe(process: id, flip: flip))
    }

    /// The runtime reported a change of `id`'s conditions: publishes `ready` if readiness differs
    /// from what was last published. Read, compared and published under this object's lock, so
    /// two reports racing each other cannot publish an older readiness last (the journal's lock
    /// nests inside it and never calls back here).
    func conditionsChanged(_ id: ProcessID) {
        lastReady.withLock { last in
            guard let now = conditions(id), now.ready != (last[id] ?? false) else { return }
            last[id] = now.ready
            journal.publish(.ready(process: id, ready: now.ready, programRunning: now.programRunning))
        }
    }
}
