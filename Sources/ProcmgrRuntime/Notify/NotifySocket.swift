import CProcmgrShims
import Glibc
import Logging
import ProcmgrSupport
import Synchronization

/// The agent's end of one child's NOTIFY_SOCKET (sd_notify(3)): an AF_UNIX datagram socket in
/// the abstract namespace, read on the agent's reactor, with the process's watchdog as one timer
/// on the reactor's heap.
///
/// Why the abstract namespace (`@procmgr/<agent pid>/<generation>/<process id>`): nothing to
/// create, no directory whose permissions to get right, nothing to clean up after a crash — the
/// name vanishes with the descriptor. Anyone in the network namespace can send to it, exactly
/// as to systemd's own `/run/systemd/notify`; who may is decided per datagram from the kernel's
/// SCM_CREDENTIALS (``NotifyAccess``). The generation (one counter per agent) makes every child
/// of every process a fresh name, so a late datagram from an old child never reaches a new one.
/// The process id comes last and is cut to the 107 bytes an abstract name may have.
///
/// `WATCHDOG_PID` is not exported: systemd sets it to the main pid, which procmgr learns only
/// after the exec. Without it `sd_watchdog_enabled()` accepts `WATCHDOG_USEC` in any process
/// that inherits it — here the process group the watchdog covers anyway.
///
/// The socket exists before the spawn (the child may send at once) but is read only from
/// ``childStarted(pid:pgid:onEvent:)`` on, when the pid to check senders against is known;
/// earlier datagrams wait in the kernel's queue. Every datagram is read into one fixed 4 KiB
/// buffer and every descriptor it passes is closed once it was handled, whatever its fate
/// (`BARRIER=1`: `systemd-notify` waits for that close, then exits), so nothing a client sends
/// can block it or grow the agent's memory.
///
/// `systemd-notify` (v252, as root) sends `READY=1` with its parent's pid in the credentials —
/// the shell that started it, usually the program itself — and `BARRIER=1` with its own.
final class NotifySocket: Sendable {
    /// What the owner acts on; delivered on the reactor thread, outside every lock here.
    enum Event: Sendable, Hashable {
        case readyChanged(Bool)
        case watchdogFailed(NotifyProtocol.WatchdogFailure)
    }

    private struct Child {
        let pid: Int32
        let pgid: Int32
        let onEvent: @Sendable (Event) -> Void
    }

    private struct State {
        var proto: NotifyProtocol
        var child: Child?
        var registered = false
        var closed = false
    }

    /// At most this many datagrams per wakeup: a flooding child cannot starve the reactor's
    /// other descriptors (level-triggered, the rest is read on the next turn).
    private static let batch = 64
    private static let generation = Atomic<UInt64>(0)

    /// `NOTIFY_SOCKET`'s value: `@` and the abstract name.
    let address: String
    private let settings: NotifySettings
    private let fd: Int32
    private let reactor: EpollThread
    private let token: EpollThread.Token
    private let timer: EpollThread.TimerToken
    private let weakSelf = WeakBox<NotifySocket>()
    private let timerHandler: @Sendable () -> Void
    private let count: @Sendable (NotifyMessageResult) -> Void
    private let logger: Logger
    private let state: LockedState<State>

    /// Creates and binds the socket (not yet read). `count` is called for every datagram, on the
    /// reactor thread.
    init(
        reactor: EpollThread, process: String, settings: NotifySettings, logger: Logger,
        count: @escaping @Sendable (NotifyMessageResult) -> Void
    ) throws(SystemError) {
        let generation = Self.generation.wrappingAdd(1, ordering: .relaxed).newValue
        let name = Self.name(agentPID: getpid(), generation: generation, process: process)
        let fd = name.withCString { procmgr_notify_socket_open($0, strlen($0)) }
        guard fd >= 0 else { throw .current("NOTIFY_SOCKET @\(name)") }
        self.fd = fd
        self.address = "@" + name
        self.settings = settings
        self.reactor = reactor
        self.token = reactor.makeToken()
        self.timer = reactor.makeTimerToken()
        self.count = count
        var logger = logger
        logger[metadataKey: "process"] = "\(process)"
        self.logger = logger
        self.state = LockedState(State(proto: NotifyProtocol(watchdog: settings.watchdog, startedAt: EpollThread.now)))
        let box = weakSelf
        self.timerHandler = { box.value?.watchdogTimerFired() }
        box.value = self
    }

    /// The abstract name (without `@`): at most 107 bytes, the process id cut to fit.
    static func name(agentPID: Int32, generation: UInt64, process: String) -> String {
        let prefix = "procmgr/\(agentPID)/\(generation)/"
        var id = Substring(process)
        while prefix.utf8.count + id.utf8.count > 107 { id = id.dropLast() }
        return prefix + id
    }

    /// Merge into the child's environment: `NOTIFY_SOCKET`, and `WATCHDOG_USEC` with a watchdog.
    var environment: [String: String] {
        var environment = ["NOTIFY_SOCKET": address]
        if let watchdog = settings.watchdog, watchdog > .zero { environment["WATCHDOG_USEC"] = "\(watchdog.nanoseconds / 1000)" }
        return environment
    }

    /// What the program said last (`STATUS=`).
    var status: String? { state.withLock { $0.proto.status } }
    /// Whether the program said `READY=1` (and not `STOPPING=1` since).
    var ready: Bool { state.withLock { $0.proto.ready } }
    /// The protocol state as it is now (tests, logs).
    var current: NotifyProtocol { state.withLock { $0.proto } }

    /// The child runs: senders are checked against `pid` (and its group `pgid` with `all`), the
    /// socket is read from now on, and the watchdog timer is armed (it counts from the spawn).
    func childStarted(pid: Int32, pgid: Int32, onEvent: @escaping @Sendable (Event) -> Void) throws(SystemError) {
        let deadline = state.withLock { state -> UInt64?? in
            guard !state.closed else { return .none }
            state.child = Child(pid: pid, pgid: pgid, onEvent: onEvent)
            state.registered = true
            return .some(state.proto.watchdogDeadline)
        }
        guard case .some(let deadline) = deadline else { return }
        let box = weakSelf
        do {
            try reactor.register(fd: fd, events: EpollThread.Events.readable, token: token) { _ in box.value?.readable() }
        } catch {
            state.withLock { $0.registered = false }
            throw error
        }
        if let deadline { reactor.schedule(timer, at: deadline, handler: timerHandler) }
    }

    /// Sends one datagram to `address` as sd_notify does, passing `fd` with SCM_RIGHTS when it is
    /// not -1; nil when sent, else the errno. A client of our own, for tests and the benchmark.
    static func send(_ bytes: [UInt8], to address: String, passing fd: Int32 = -1) -> Int32? {
        let sent = bytes.withUnsafeBytes { procmgr_notify_send(address, $0.baseAddress, $0.count, fd) }
        return sent == 0 ? nil : errno
    }

    /// Stops reading and closes the socket (the child is gone). Idempotent.
    func close() {
        let registered = state.withLock { state -> Bool? in
            guard !state.closed else { return nil }
            state.closed = true
            state.child = nil
            return state.registered
        }
        guard let registered else { return }
        reactor.cancelTimer(timer)
        if registered {
            reactor.deregister(token, closing: true)
        } else {
            Glibc.close(fd)
        }
    }

    deinit { close() }

    // MARK: - reactor thread

    private func readable() {
        withUnsafeTemporaryAllocation(byteCount: Int(PROCMGR_NOTIFY_DATAGRAM_MAX), alignment: 8) { buffer in
            for _ in 0..<Self.batch {
                var datagram = procmgr_notify_datagram()
                let received = procmgr_notify_receive(fd, buffer.baseAddress, buffer.count, &datagram)
                guard received == 1 else { return }
                handle(datagram, UnsafeRawBufferPointer(rebasing: buffer[0..<datagram.length]))
                // Only now: a client waiting on BARRIER=1 exits once they are closed, and the
                // sender must still exist while it is checked.
                procmgr_notify_close_fds(&datagram)
            }
        }
    }

    private func handle(_ datagram: procmgr_notify_datagram, _ bytes: UnsafeRawBufferPointer) {
        guard let child = state.withLock({ $0.child }) else { return }
        guard datagram.has_credentials != 0, permitted(datagram.pid, child: child) else {
            count(.foreign)
            logger.debug("NOTIFY_SOCKET datagram from a process outside the program dropped", metadata: ["sender": "\(datagram.pid)"])
            return
        }
        guard datagram.truncated == 0 else {
            count(.oversized)
            return
        }
        guard let message = NotifyMessage(bytes) else {
            count(.malformed)
            return
        }
        count(.accepted)
        let effects = state.withLock { $0.proto.apply(message, now: EpollThread.now) }
        if effects.deadlineChanged { rearmWatchdog() }
        for note in effects.notes { log(note) }
        if let ready = effects.readyChanged { child.onEvent(.readyChanged(ready)) }
        if let failure = effects.watchdogFailure { child.onEvent(.watchdogFailed(failure)) }
    }

    /// `main`: only the program itself; `all`: any member of its process group. A sender that
    /// exited (and was reaped) before its datagram is read cannot be placed and counts as
    /// foreign — systemd has the same race, which is why `systemd-notify` waits on a barrier.
    private func permitted(_ pid: Int32, child: Child) -> Bool {
        if pid == child.pid { return true }
        guard settings.access == .all, pid > 0 else { return false }
        return getpgid(pid) == child.pgid
    }

    private func rearmWatchdog() {
        let deadline = state.withLock { $0.closed ? nil : $0.proto.watchdogDeadline }
        if let deadline {
            reactor.schedule(timer, at: deadline, handler: timerHandler)
        } else {
            reactor.cancelTimer(timer)
        }
    }

    private func watchdogTimerFired() {
        let (failure, onEvent) = state.withLock { state -> (NotifyProtocol.WatchdogFailure?, (@Sendable (Event) -> Void)?) in
            guard !state.closed, let child = state.child else { return (nil, nil) }
            return (state.proto.watchdogTimerFired(now: EpollThread.now), child.onEvent)
        }
        guard let failure, let onEvent else {
            rearmWatchdog()  // fired for a deadline that has since moved
            return
        }
        onEvent(.watchdogFailed(failure))
    }

    private func log(_ note: NotifyProtocol.Note) {
        switch note {
        case .stopping: logger.info("the program reports STOPPING=1")
        case .reloading: logger.info("the program reports RELOADING=1")
        case .mainPIDIgnored(let pid): logger.info("MAINPID= ignored: procmgr watches the whole process group", metadata: ["mainpid": "\(pid)"])
        case .errno(let number): logger.notice("the program reports ERRNO=", metadata: ["errno": "\(ErrnoName.describe(number))"])
        case .invalidValue(let key): logger.notice("NOTIFY_SOCKET assignment with an invalid value ignored", metadata: ["key": "\(key)"])
        }
    }
}
