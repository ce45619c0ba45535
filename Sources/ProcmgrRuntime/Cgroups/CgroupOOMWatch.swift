import CProcmgrShims
import Glibc
import ProcmgrSupport

/// Calls back when the kernel's OOM killer ends a process of one cgroup; ``cancel()`` releases
/// its descriptor (call it when the process cgroup is removed: the reactor holds the watch).
///
/// How: v1 — an eventfd registered through `cgroup.event_control` for `memory.oom_control`;
/// v2 — inotify (IN_MODIFY) on `memory.events`. Either descriptor sits on the agent's reactor,
/// so nothing polls. One descriptor stays open per watch (v1 opens two more for the
/// registration and closes them at once). An event only says "something changed": the
/// callback runs when the `oom_kill` counter grew. v1 signals when the cgroup *enters* OOM,
/// a moment before the kill, so a notification without a new kill is re-checked every
/// millisecond for up to 50 ms; the notification v1 sends when the cgroup is removed stops
/// there (the counter cannot be read any more).
public final class CgroupOOMWatch: Sendable {
    private struct State {
        var seen: UInt64
        var rechecks = 0
        var cancelled = false
    }

    private static let recheckLimit = 50

    private let cgroup: ProcessCgroup
    /// The eventfd (v1) or inotify descriptor (v2) this watch holds.
    let fd: Int32
    private let reactor: EpollThread
    private let token: EpollThread.Token
    private let recheckTimer: EpollThread.TimerToken
    private let onOOM: @Sendable () -> Void
    private let state: LockedState<State>

    fileprivate init(cgroup: ProcessCgroup, fd: Int32, reactor: EpollThread, onOOM: @escaping @Sendable () -> Void) {
        self.cgroup = cgroup
        self.fd = fd
        self.reactor = reactor
        self.token = reactor.makeToken()
        self.recheckTimer = reactor.makeTimerToken()
        self.onOOM = onOOM
        self.state = LockedState(State(seen: cgroup.oomKills() ?? 0))
    }

    /// Stops watching and closes the descriptor (on the reactor thread). Idempotent.
    public func cancel() {
        let first = state.withLock { state -> Bool in
            defer { state.cancelled = true }
            return !state.cancelled
        }
        guard first else { return }
        reactor.cancelTimer(recheckTimer)
        reactor.deregister(token, closing: true)
    }

    /// Reactor thread: the descriptor is readable.
    private func eventArrived() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
        state.withLock { $0.rechecks = 0 }
        check()
    }

    private func check() {
        let count = cgroup.oomKills()
        let fire = state.withLock { state -> Bool? in
            guard !state.cancelled else { return false }
            if let count, count > state.seen {
                state.seen = count
                return true
            }
            guard count != nil, state.rechecks < Self.recheckLimit else { return false }
            state.rechecks += 1
            return nil
        }
        switch fire {
        case true?: onOOM()
        case false?: break
        case nil: reactor.schedule(recheckTimer, at: EpollThread.deadline(after: .milliseconds(1))) { [self] in check() }
        }
    }

    /// Puts the descriptor on the reactor; closes it on failure.
    fileprivate func register() -> Bool {
        do {
            try reactor.register(fd: fd, events: EpollThread.Events.readable, token: token) { [self] _ in eventArrived() }
            return true
        } catch {
            close(fd)
            return false
        }
    }
}

extension ProcessCgroup {
    /// Calls `onOOM` (on the reactor thread) when the kernel's OOM killer acts in this cgroup:
    /// v1 eventfd through `cgroup.event_control` on `memory.oom_control`, v2 inotify on
    /// `memory.events`. nil without a memory controller or when the watch cannot be set up.
    public func watchOOM(reactor: EpollThread, onOOM: @escaping @Sendable () -> Void) -> CgroupOOMWatch? {
        let fd: Int32
        if unifiedControllers.contains(.memory), let unified {
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { return nil }
            guard inotify_add_watch(fd, unified + "/memory.events", UInt32(IN_MODIFY)) >= 0 else {
                close(fd)
                return nil
            }
        } else if let directory = v1[.memory] {
            guard let eventfd = Self.registerV1OOMEventFD(directory: directory) else { return nil }
            fd = eventfd
        } else {
            return nil
        }
        let watch = CgroupOOMWatch(cgroup: self, fd: fd, reactor: reactor, onOOM: onOOM)
        return watch.register() ? watch : nil
    }

    /// An eventfd the kernel signals on OOM in the v1 memory cgroup `directory`: registered by
    /// writing "<eventfd> <fd of memory.oom_control>" to `cgroup.event_control`. Only the
    /// eventfd stays open (the kernel keeps what it needs of the other two).
    private static func registerV1OOMEventFD(directory: String) -> Int32? {
        let eventfd = procmgr_eventfd(0, 1)
        guard eventfd >= 0 else { return nil }
        let control = open(directory + "/memory.oom_control", O_RDONLY | O_CLOEXEC)
        let events = open(directory + "/cgroup.event_control", O_WRONLY | O_CLOEXEC)
        defer {
            if control >= 0 { close(control) }
            if events >= 0 { close(events) }
        }
        guard control >= 0, events >= 0, CgroupFiles.write("\(eventfd) \(control)", fd: events) == 0 else {
            close(eventfd)
            return nil
        }
        return eventfd
    }
}
