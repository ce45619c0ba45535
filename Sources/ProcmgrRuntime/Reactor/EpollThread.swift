import CProcmgrShims
import Glibc
import ProcmgrSupport
import Synchronization

/// One dedicated thread multiplexing many descriptors with `epoll`: the agent's reactor.
///
/// Why: procmgr must scale to ~1,000 children. One thread per pipe, pidfd or heartbeat socket
/// would mean thousands of threads; polling would add latency and burn CPU. One level-triggered
/// epoll loop wakes only when something happened, and the agent has exactly one
/// (``RuntimeServices/reactor``): exit watching, output capture, heartbeats, group-stop
/// deadlines and the config file watcher all register with it. (There were four such threads
/// and a timerfd per stop; one thread is fewer wake-ups, fewer stacks, and one place where
/// ordering holds: a handler never races another handler.)
///
/// Rules:
/// - Handlers run on the loop thread, one at a time, and must not block.
/// - A registration is removed on the loop thread (directly when called from a handler,
///   otherwise queued), so a handler never runs after its descriptor was closed by
///   ``deregister(_:closing:)``.
/// - The descriptor must stay open while registered: capture the object that owns it in the
///   handler, or pass `closing: true` when deregistering.
/// - Timers (``schedule(_:at:handler:)``) run on the loop thread too. They share one timerfd
///   armed for the earliest deadline of a heap with at most one entry per ``TimerToken``: a
///   thousand heartbeats cost one wakeup per due batch, not a task or a thread each.
public final class EpollThread: Sendable {
    /// The loop thread's id, boxed. Why a box: an `Atomic` stored directly in this class, whose
    /// initializer can still throw once every property is set (the thread may fail to start),
    /// crashes Swift 6.3's optimizer ("Found outside of lifetime use", the ownership verifier on
    /// the `drop_deinit` of the throwing path), so no release build went through.
    private final class LoopThreadID: Sendable {
        let value = Atomic<UInt>(0)
    }

    public typealias Handler = @Sendable (_ events: UInt32) -> Void

    /// Identifies one registration; never reused within a loop.
    public struct Token: Hashable, Sendable {
        fileprivate let raw: UInt64
    }

    /// Event bits, re-exported so callers need not import the C shim.
    public enum Events {
        public static let readable = UInt32(PROCMGR_EPOLLIN)
        public static let writable = UInt32(PROCMGR_EPOLLOUT)
        public static let error = UInt32(PROCMGR_EPOLLERR)
        public static let hangup = UInt32(PROCMGR_EPOLLHUP)
        public static let readHangup = UInt32(PROCMGR_EPOLLRDHUP)
        public static let oneShot = UInt32(PROCMGR_EPOLLONESHOT)
    }

    /// Identifies one timer; scheduling it again replaces its deadline. Never reused within a loop.
    public struct TimerToken: Hashable, Sendable {
        fileprivate let raw: UInt64
    }

    private struct Registration {
        let fd: Int32
        let handler: Handler
    }

    private struct State {
        var registrations: [UInt64: Registration] = [:]
        var nextToken: UInt64 = 1
        var commands: [@Sendable () -> Void] = []
        var stopping = false
        var timers = TimerHeap()
        /// The absolute deadline the timerfd is armed for, if any.
        var armedDeadline: UInt64?
    }

    private static let wakeToken: UInt64 = 0
    private static let timerToken: UInt64 = .max

    private let epollFD: Int32
    private let wakeFD: Int32
    private let timerFD: Int32
    private let state = LockedState(State())
    private let loopThread = LoopThreadID()
    /// Human-readable name (also the thread's name).
    public let name: String

    /// Starts the loop thread. Periodic work (a safety sweep) is a timer that re-schedules
    /// itself (``schedule(_:at:handler:)``).
    public init(name: String) throws(SystemError) {
        let ep = procmgr_epoll_create()
        guard ep >= 0 else { throw .current("epoll_create1") }
        let wake = procmgr_eventfd(0, 1)
        guard wake >= 0 else {
            let error = SystemError.current("eventfd")
            close(ep)
            throw error
        }
        guard procmgr_epoll_ctl(ep, Int32(PROCMGR_EPOLL_CTL_ADD), wake, UInt32(PROCMGR_EPOLLIN), Self.wakeToken) == 0 else {
            let error = SystemError.current("epoll_ctl(eventfd)")
            close(ep)
            close(wake)
            throw error
        }
        let timer = procmgr_timerfd_create()
        guard timer >= 0, procmgr_epoll_ctl(ep, Int32(PROCMGR_EPOLL_CTL_ADD), timer, UInt32(PROCMGR_EPOLLIN), Self.timerToken) == 0 else {
            let error = SystemError.current("timerfd")
            if timer >= 0 { close(timer) }
            close(ep)
            close(wake)
            throw error
        }
        self.epollFD = ep
        self.wakeFD = wake
        self.timerFD = timer
        self.name = name
        try OSThread.start(name: name) { [self] in self.run() }
    }

    /// True when called from this loop's thread.
    public var isLoopThread: Bool { loopThread.value.load(ordering: .acquiring) == OSThread.currentID }

    /// Reserves a token before registering, so the owner can store it before any event fires.
    public func makeToken() -> Token {
        state.withLock { state in
            defer { state.nextToken += 1 }
            return Token(raw: state.nextToken)
        }
    }

    /// Starts watching `fd`. `events` is a mask of ``Events``; level-triggered unless
    /// ``Events/oneShot`` is included (then call ``rearm(_:fd:events:)`` after each event).
    @discardableResult
    public func register(
        fd: Int32,
        events: UInt32,
        token: Token? = nil,
        handler: @escaping Handler
    ) throws(SystemError) -> Token {
        let token = token ?? makeToken()
        state.withLock { $0.registrations[token.raw] = Registration(fd: fd, handler: handler) }
        if procmgr_epoll_ctl(epollFD, Int32(PROCMGR_EPOLL_CTL_ADD), fd, events, token.raw) != 0 {
            let error = SystemError.current("epoll_ctl(ADD, fd \(fd))")
            _ = state.withLock { $0.registrations.removeValue(forKey: token.raw) }
            throw error
        }
        return token
    }

    /// Re-enables a one-shot registration (or changes its event mask).
    public func rearm(_ token: Token, fd: Int32, events: UInt32) {
        _ = procmgr_epoll_ctl(epollFD, Int32(PROCMGR_EPOLL_CTL_MOD), fd, events, token.raw)
    }

    /// Stops watching and optionally closes the descriptor, on the loop thread.
    public func deregister(_ token: Token, closing: Bool = false) {
        if isLoopThread {
            removeNow(token, closing: closing)
        } else {
            execute { [self] in self.removeNow(token, closing: closing) }
        }
    }

    /// Runs `work` on the loop thread soon (after the current batch of events).
    public func execute(_ work: @escaping @Sendable () -> Void) {
        state.withLock { $0.commands.append(work) }
        wake()
    }

    /// Ends the loop. Registered descriptors are not closed; their owners close them.
    public func shutdown() {
        state.withLock { $0.stopping = true }
        wake()
    }

    /// Now on the clock timers use (CLOCK_MONOTONIC), in nanoseconds.
    public static var now: UInt64 { procmgr_monotonic_ns() }

    /// The ``now`` reading `delay` from now: a deadline for ``schedule(_:at:handler:)``.
    public static func deadline(after delay: Duration) -> UInt64 { now &+ delay.nanoseconds }

    /// Reserves a timer token.
    public func makeTimerToken() -> TimerToken {
        state.withLock { state in
            defer { state.nextToken += 1 }
            return TimerToken(raw: state.nextToken)
        }
    }

    /// Runs `handler` on the loop thread once ``now`` reaches `deadline`, replacing whatever the
    /// token was scheduled for. Callable from any thread; the handler must not block.
    public func schedule(_ token: TimerToken, at deadline: UInt64, handler: @escaping @Sendable () -> Void) {
        state.withLock { state in
            state.timers.schedule(token.raw, at: deadline, handler: handler)
            if state.armedDeadline.map({ deadline < $0 }) ?? true { arm(&state, for: deadline) }
        }
    }

    /// Cancels a timer (no effect if it already ran). At most one spurious wakeup follows.
    public func cancelTimer(_ token: TimerToken) {
        _ = state.withLock { $0.timers.remove(token.raw) }
    }

    /// Number of scheduled timers (for tests).
    public var timerCount: Int { state.withLock { $0.timers.count } }

    private func arm(_ state: inout State, for deadline: UInt64) {
        state.armedDeadline = deadline
        _ = procmgr_timerfd_arm_absolute(timerFD, deadline)
    }

    /// `due` is the loop's scratch array, reused so a batch of expiries allocates nothing.
    private func fireDueTimers(into due: inout [TimerHeap.Entry]) {
        var expirations: UInt64 = 0
        _ = read(timerFD, &expirations, 8)
        state.withLock { state in
            state.armedDeadline = nil
            state.timers.popDue(now: Self.now, into: &due)
            if let next = state.timers.nextDeadline { arm(&state, for: next) }
        }
        for entry in due { entry.handler() }
        due.removeAll(keepingCapacity: true)
    }

    /// Number of live registrations (for tests and metrics).
    public var registrationCount: Int { state.withLock { $0.registrations.count } }

    private func removeNow(_ token: Token, closing: Bool) {
        guard let registration = state.withLock({ $0.registrations.removeValue(forKey: token.raw) }) else { return }
        _ = procmgr_epoll_ctl(epollFD, Int32(PROCMGR_EPOLL_CTL_DEL), registration.fd, 0, 0)
        if closing { close(registration.fd) }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func run() {
        loopThread.value.store(OSThread.currentID, ordering: .releasing)
        let capacity = 256
        let datas = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer {
            datas.deallocate()
            events.deallocate()
        }
        var dueTimers: [TimerHeap.Entry] = []

        while true {
            let count = procmgr_epoll_wait(epollFD, datas, events, Int32(capacity), -1)
            if count < 0 {
                // EBADF/EINVAL would mean a programming error; avoid a hot loop.
                usleep(1000)
                continue
            }
            for i in 0..<Int(count) {
                let data = datas[i]
                if data == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                if data == Self.timerToken {
                    fireDueTimers(into: &dueTimers)
                    continue
                }
                // Looked up per event: a handler earlier in this batch may have removed it.
                guard let registration = state.withLock({ $0.registrations[data] }) else { continue }
                registration.handler(events[i])
            }
            let (commands, stopping) = state.withLock { state in
                defer { state.commands.removeAll() }
                return (state.commands, state.stopping)
            }
            for command in commands { command() }
            if stopping {
                close(epollFD)
                close(wakeFD)
                close(timerFD)
                return
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole nanoseconds, 0 for negative durations (timer arithmetic on ``EpollThread/now``).
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// The duration in seconds as a Double (for logs and metrics).
    var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
