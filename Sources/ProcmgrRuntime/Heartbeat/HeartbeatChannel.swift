import Glibc
import ProcmgrSupport

/// Why a heartbeat failed.
public enum HeartbeatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No `PONG <seq>` within the timeout: the child is hung, stopped or too busy.
    case timeout(sequence: UInt64, after: Duration)
    /// The child closed its end (it exited, or closed the descriptor).
    case closed
    /// Writing the PING failed (EAGAIN: the child has not read its PINGs for a long time).
    case writeFailed(errno: Int32)

    public var description: String {
        switch self {
        case .timeout(let sequence, let after): "no PONG \(sequence) within \(after)"
        case .closed: "heartbeat channel closed by the child"
        case .writeFailed(let code): "cannot send PING: \(ErrnoName.describe(code))"
        }
    }
}

/// Agent side of a liveness check over a socketpair: `PING <seq>\n` → `PONG <seq>\n`.
///
/// Why a socketpair instead of an HTTP probe: it needs no port, works for any child that can
/// read a descriptor, and EOF tells both sides at once that the peer is gone (the child's
/// ``HeartbeatResponder`` exits when the agent dies).
///
/// Usage: create the channel, spawn with `inheritedFDs: [channel.inheritedFD]` and
/// `channel.environment` merged into the child's environment (`PROCMGR_HEARTBEAT_FD=3`), then
/// call ``childStarted()`` so the agent's copy of the child end is closed (otherwise the child's
/// exit would not be seen as EOF), and ``startMonitoring(interval:timeout:onResult:)``.
///
/// Pings, timeouts and PONGs all happen on the agent's reactor thread (``EpollThread``),
/// scheduled on its timer heap, timed by CLOCK_MONOTONIC, and only results leave it. There is
/// no other way to ping (an async one-shot `ping` existed for tests only: the tests now drive
/// this path). Why: with 1,000 children pinging every 2 s, a timer, a timeout
/// task and a thread hop per ping cost ~10 % of a core; this way a ping is a send, a wakeup for
/// the PONG and a heap update.
public final class HeartbeatChannel: Sendable {
    /// The environment variable naming the child's descriptor.
    public static let environmentVariable = "PROCMGR_HEARTBEAT_FD"

    /// The loop-driven monitor: at any time either waiting to send the next PING (`outstanding`
    /// nil) or waiting for the PONG of `outstanding` — one timer covers both.
    private struct Monitor {
        let interval: UInt64
        let timeout: UInt64
        let timeoutDuration: Duration
        let onResult: @Sendable (Result<Duration, HeartbeatError>) -> Void
        var outstanding: (sequence: UInt64, sentAt: UInt64)?
    }

    private struct State {
        var monitor: Monitor?
        var nextSequence: UInt64 = 1
        var closed = false
        var childEnd: Int32?
        var lineBuffer: [UInt8] = []
        var lastLatency: Duration?
    }

    /// The number the child sees (default 3).
    public let childFDNumber: Int32
    private let agentFD: Int32
    private let childEndFD: Int32
    private let reactor: EpollThread
    private let token: EpollThread.Token
    private let timer: EpollThread.TimerToken
    /// Lets the loop's timer reach the channel without keeping it alive.
    private let weakSelf = WeakBox<HeartbeatChannel>()
    /// The monitor's timer handler, made once: a closure literal per ``scheduleMonitor(at:)``
    /// would be a heap allocation for every PING and every PONG.
    private let monitorTimerHandler: @Sendable () -> Void
    private let state: LockedState<State>

    /// Creates the socketpair and starts listening for PONGs on `reactor`.
    public init(reactor: EpollThread, childFDNumber: Int32 = 3) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw .current("socketpair")
        }
        let flags = fcntl(fds[0], F_GETFL)
        _ = fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)
        self.agentFD = fds[0]
        self.childEndFD = fds[1]
        self.childFDNumber = childFDNumber
        self.reactor = reactor
        self.state = LockedState(State(childEnd: fds[1]))
        self.token = reactor.makeToken()
        self.timer = reactor.makeTimerToken()
        let box = weakSelf
        self.monitorTimerHandler = { box.value?.monitorTimerFired() }
        do {
            try reactor.register(fd: agentFD, events: EpollThread.Events.readable, token: token) { _ in
                box.value?.readable()
            }
        } catch {
            Glibc.close(fds[0])
            Glibc.close(fds[1])
            throw error
        }
        box.value = self
    }

    /// Pass this in ``SpawnSpec/inheritedFDs``.
    public var inheritedFD: FDMapping { FDMapping(childFD: childFDNumber, parentFD: childEndFD) }

    /// Merge into the child's environment.
    public var environment: [String: String] { [Self.environmentVariable: "\(childFDNumber)"] }

    /// The latency of the last answered PING.
    public var lastLatency: Duration? { state.withLock { $0.lastLatency } }

    /// Closes the agent's copy of the child's end. Call right after the spawn (successful or
    /// not).
    public func childStarted() {
        let fd = state.withLock { state -> Int32? in
            defer { state.childEnd = nil }
            return state.childEnd
        }
        if let fd { Glibc.close(fd) }
    }

    /// Pings every `interval` (after each result) from the reactor's thread until the channel
    /// closes or ``stopMonitoring()``; the first PING goes out at once. `onResult` gets each
    /// round trip, each timeout (then pinging goes on), and ``HeartbeatError/closed`` once at the
    /// end when the channel closes. It runs outside every lock of the channel, on the reactor
    /// thread — except that final `.closed` when ``close()`` is called from another thread, which
    /// is delivered on that thread — and must not block (it may call ``close()``).
    public func startMonitoring(
        interval: Duration,
        timeout: Duration,
        onResult: @escaping @Sendable (Result<Duration, HeartbeatError>) -> Void
    ) {
        let closed = state.withLock { state -> Bool in
            guard !state.closed else { return true }
            state.monitor = Monitor(
                interval: interval.nanoseconds, timeout: timeout.nanoseconds, timeoutDuration: timeout,
                onResult: onResult, outstanding: nil)
            return false
        }
        if closed {
            onResult(.failure(.closed))
            return
        }
        scheduleMonitor(at: EpollThread.now)
    }

    /// Ends the loop-driven monitor without closing the channel. A result being delivered on the
    /// loop thread at this moment may still arrive; none after it.
    public func stopMonitoring() {
        state.withLock { $0.monitor = nil }
        reactor.cancelTimer(timer)
    }

    /// Closes the channel; a running monitor gets ``HeartbeatError/closed``.
    public func close() {
        shutDown()
        reactor.deregister(token, closing: true)
        childStarted()
    }

    deinit {
        reactor.cancelTimer(timer)
        reactor.deregister(token, closing: true)
        if let fd = state.withLock({ $0.childEnd }) { Glibc.close(fd) }
    }

    // MARK: - loop thread

    private func readable() {
        // Nearly every read holds exactly one PONG: keep it in `first`, so the common case
        // allocates nothing (an empty array does not allocate either).
        var first: UInt64?
        var more: [UInt64] = []
        let n = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { buffer -> Int in
            var n: Int
            repeat {
                n = read(agentFD, buffer.baseAddress, buffer.count)
            } while n < 0 && errno == EINTR
            guard n > 0 else { return n }
            state.withLock { state in
                for byte in buffer[0..<n] {
                    if byte == 0x0A {
                        if let sequence = Self.parsePong(state.lineBuffer) {
                            if first == nil { first = sequence } else { more.append(sequence) }
                        }
                        state.lineBuffer.removeAll(keepingCapacity: true)
                    } else if state.lineBuffer.count < 64 {
                        state.lineBuffer.append(byte)
                    }
                }
            }
            return n
        }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
        if n <= 0 {
            shutDown()
            reactor.deregister(token, closing: true)
            return
        }
        // A PONG that is not the outstanding one (late, after its timeout) is ignored.
        guard let first else { return }
        _ = monitorReceived(first)
        for sequence in more { _ = monitorReceived(sequence) }
    }

    /// A PONG for the monitor's outstanding PING: report it and schedule the next PING.
    private func monitorReceived(_ sequence: UInt64) -> Bool {
        let now = EpollThread.now
        let delivery = state.withLock { state -> (@Sendable (Result<Duration, HeartbeatError>) -> Void, Duration, UInt64)? in
            guard let monitor = state.monitor, let outstanding = monitor.outstanding, outstanding.sequence == sequence else { return nil }
            state.monitor?.outstanding = nil
            let latency = Duration.nanoseconds(Int64(now &- outstanding.sentAt))
            state.lastLatency = latency
            return (monitor.onResult, latency, now &+ monitor.interval)
        }
        guard let (onResult, latency, next) = delivery else { return false }
        scheduleMonitor(at: next)
        onResult(.success(latency))
        return true
    }

    /// Monitor deadlines are rounded up to this grid, so the PINGs (and timeouts) of many
    /// channels that fall due close together share one timer wakeup of the loop and their PONGs
    /// tend to arrive together. 50 ms: no interval or timeout in seconds needs more precision.
    static let batchGrid: UInt64 = 50_000_000

    private func scheduleMonitor(at deadline: UInt64) {
        let grid = Self.batchGrid
        let batched = deadline % grid == 0 ? deadline : (deadline / grid + 1) &* grid
        reactor.schedule(timer, at: batched, handler: monitorTimerHandler)
    }

    /// The monitor's one timer: time for the next PING, or the outstanding one timed out.
    private func monitorTimerFired() {
        let now = EpollThread.now
        var next: UInt64?
        let report = state.withLock { state -> (@Sendable (Result<Duration, HeartbeatError>) -> Void, Result<Duration, HeartbeatError>)? in
            guard !state.closed, let monitor = state.monitor else { return nil }
            if let outstanding = monitor.outstanding {
                state.monitor?.outstanding = nil
                next = now &+ monitor.interval
                return (monitor.onResult, .failure(.timeout(sequence: outstanding.sequence, after: monitor.timeoutDuration)))
            }
            let sequence = state.nextSequence
            state.nextSequence += 1
            // Sent under the lock: close() marks `closed` under it before the descriptor goes
            // away, so a PING never goes to a recycled descriptor number.
            if let failure = sendPing(sequence) {
                if failure == .closed {
                    state.monitor = nil
                } else {
                    next = now &+ monitor.interval
                }
                return (monitor.onResult, .failure(failure))
            }
            state.monitor?.outstanding = (sequence, now)
            next = now &+ monitor.timeout
            return nil
        }
        if let next { scheduleMonitor(at: next) }
        if let (onResult, result) = report { onResult(result) }
    }

    /// Writes `PING <sequence>`; nil when sent. Formats the line into a stack buffer (no String,
    /// no Array): this runs for every PING of every child.
    private func sendPing(_ sequence: UInt64) -> HeartbeatError? {
        let sent = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { line -> Int in
            let count = Self.formatPing(sequence, into: line)
            return Glibc.send(agentFD, line.baseAddress, count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        guard sent < 0 else { return nil }
        let code = errno
        return code == EPIPE || code == ECONNRESET ? .closed : .writeFailed(errno: code)
    }

    /// Writes `PING <sequence>\n` into `buffer` (at least 26 bytes) and returns its length.
    static func formatPing(_ sequence: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        // "PING " + up to 20 digits + "\n"
        // invariant: callers pass a fixed 32-byte scratch buffer.
        precondition(buffer.count >= 26)
        buffer[0] = 0x50; buffer[1] = 0x49; buffer[2] = 0x4E; buffer[3] = 0x47; buffer[4] = 0x20
        var digits = 0
        var rest = sequence
        repeat {
            digits += 1
            rest /= 10
        } while rest > 0
        rest = sequence
        var index = 5 + digits
        buffer[index] = 0x0A
        repeat {
            index -= 1
            buffer[index] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while rest > 0
        return 6 + digits
    }

    /// The sequence of a `PONG <seq>` line (an optional trailing CR dropped), nil for anything
    /// else. Accepts what `UInt64(_: String)` accepts after the prefix (an optional sign, at least
    /// one decimal digit, no overflow), without building a String per PONG.
    static func parsePong(_ line: [UInt8]) -> UInt64? {
        line.withUnsafeBufferPointer { bytes -> UInt64? in
            var end = bytes.count
            if end > 0 && bytes[end - 1] == 0x0D { end -= 1 }
            guard end > 5, bytes[0] == 0x50, bytes[1] == 0x4F, bytes[2] == 0x4E, bytes[3] == 0x47, bytes[4] == 0x20 else { return nil }
            var index = 5
            var negative = false
            if bytes[index] == 0x2B || bytes[index] == 0x2D {
                negative = bytes[index] == 0x2D
                index += 1
                guard index < end else { return nil }
            }
            var value: UInt64 = 0
            while index < end {
                let digit = bytes[index] &- 0x30
                guard digit < 10 else { return nil }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
                guard !o1, !o2 else { return nil }
                value = sum
                index += 1
            }
            if negative && value != 0 { return nil }
            return value
        }
    }

    private func shutDown() {
        let monitor = state.withLock { state -> Monitor? in
            state.closed = true
            defer { state.monitor = nil }
            return state.monitor
        }
        if let monitor {
            reactor.cancelTimer(timer)
            monitor.onResult(.failure(.closed))
        }
    }
}
