import ProcmgrEngine
import ProcmgrSupport

/// One probe of one child: the scheduler's key. A new child of the process (another pid) makes
/// every key of the old one stale.
struct ProbeKey: Sendable, Hashable {
    let process: ProcessID
    let pid: Int32
    let kind: ProbeSettings.Kind
}

/// When each probe of every process is due: entries on the epoll thread's one timer heap, whose
/// expiries are handed to the one driver task (``ProcessRuntime/driveProbes(_:)``) as keys.
///
/// Why: a task sleeping per probe per process costs a task, a timer and a wakeup each; with a
/// thousand processes and three probes that is the agent's idle CPU. Here an idle probe is a
/// heap node and a dictionary entry.
final class ProbeScheduler: Sendable {
    private struct Scheduled: Sendable {
        var pid: Int32
        var timers: [ProbeSettings.Kind: EpollThread.TimerToken]
    }

    private let reactor: EpollThread
    private let entries = LockedState<[ProcessID: Scheduled]>([:])
    /// Keys whose time came, in expiry order.
    let due: AsyncStream<ProbeKey>
    private let dueContinuation: AsyncStream<ProbeKey>.Continuation

    init(reactor: EpollThread) {
        self.reactor = reactor
        (due, dueContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Makes `key` due after `delay`, replacing its previous time. A key of another pid than the
    /// process's scheduled ones drops those first: they belong to a child that is gone.
    func schedule(_ key: ProbeKey, after delay: Duration) {
        let deadline = EpollThread.deadline(after: max(delay, .zero))
        let continuation = dueContinuation
        let reactor = self.reactor
        entries.withLock { entries in
            if let current = entries[key.process], current.pid != key.pid {
                for token in current.timers.values { reactor.cancelTimer(token) }
                entries[key.process] = nil
            }
            var scheduled = entries[key.process] ?? Scheduled(pid: key.pid, timers: [:])
            let token = scheduled.timers[key.kind] ?? reactor.makeTimerToken()
            scheduled.timers[key.kind] = token
            entries[key.process] = scheduled
            reactor.schedule(token, at: deadline) { continuation.yield(key) }
        }
    }

    /// Forgets every probe of the process (its child is gone).
    func drop(_ process: ProcessID) {
        let reactor = self.reactor
        entries.withLock { entries in
            guard let scheduled = entries.removeValue(forKey: process) else { return }
            for token in scheduled.timers.values { reactor.cancelTimer(token) }
        }
    }

    /// Ends ``due`` (the driver returns).
    func finish() {
        dueContinuation.finish()
    }

    /// Probes with an entry (for tests: a gone child leaves none).
    var entryCount: Int { entries.withLock { $0.values.reduce(0) { $0 + $1.timers.count } } }
}
