import CProcmgrShims
import Glibc
import ProcmgrSupport

/// Every child's stderr, received on one datagram socket of the agent: the reason a child costs
/// the agent one long-lived descriptor (its stdout pipe) instead of two.
///
/// Why: the agent's descriptors bound how many programs it can run. With a pipe per stream, two
/// per child, 10,000 programs need 20,000 descriptors — exactly a common default limit, with
/// nothing left for the agent. A pipe's reader cannot tell writers apart, so two streams on one
/// pipe lose which was which. A datagram socket can: each child's stderr is a socket of its own,
/// bound to a name of its own (abstract namespace: nothing on disk, gone with the socket) and
/// connected to this sink, and every datagram arrives with its sender's name. So the agent holds
/// one descriptor for all children's stderr and one pipe per child for stdout.
///
/// What a program sees: stderr is a socket (as under systemd); each `write` is one datagram, in
/// order; a write blocks while the sink's queue is full (as on a full pipe; the agent drains it on
/// its reactor). One write can carry at most the socket's send buffer (1 MiB where the agent may
/// raise it, else the kernel's `wmem_max`, 208 KiB by default): a longer single write to stderr
/// fails with `EMSGSIZE`. Stdout stays a pipe, where a `cat` of a large file writes.
///
/// Ordering and the end: datagrams are read on the reactor thread; a capture whose stdout reaches
/// EOF drains the sink before it ends, so nothing the child wrote to stderr before exiting is
/// lost. Datagrams of a route not yet attached are kept (at most ``pendingLimit`` bytes) until
/// the capture attaches; those of a route no longer attached (a descendant that kept stderr after
/// stdout closed) are dropped and counted (``droppedDatagrams``).
public final class StderrSink: Sendable {
    /// One child's stderr socket, as the sink knows it.
    public struct Route: Sendable, Hashable {
        let name: String
    }

    private enum Destination {
        case pending(chunks: [[UInt8]], bytes: Int)
        case bound(@Sendable (UnsafeRawBufferPointer) -> Void)
    }

    private struct State {
        var routes: [String: Destination] = [:]
        var next: UInt64 = 0
        var dropped = 0
    }

    /// The send buffer asked for each child's socket (the kernel doubles it; the largest
    /// single write is about twice this).
    static let childSendBuffer: Int32 = 1 << 20
    /// The receive scratch: larger than any datagram a child can send.
    static let receiveCapacity = (2 << 20) + (64 << 10)
    /// What a route keeps before its capture attaches.
    static let pendingLimit = 256 << 10
    /// Datagrams read per readiness event (then other descriptors get their turn).
    static let batch = 256

    public let reactor: EpollThread
    private let fd: Int32
    private let name: String
    private let state = LockedState(State())
    private let scratch: ScratchBuffer
    public init(reactor: EpollThread) throws(SystemError) {
        self.reactor = reactor
        name = "procmgr/\(getpid())/stderr/\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        fd = procmgr_stderr_sink_open(name, 8 << 20)
        guard fd >= 0 else { throw .current("socket(stderr sink)") }
        scratch = ScratchBuffer(size: Self.receiveCapacity)
        do {
            try reactor.register(fd: fd, events: EpollThread.Events.readable) { [weak self] _ in
                self?.drain(limit: Self.batch)
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Datagrams dropped: from no known route, or past ``pendingLimit`` of a route not yet attached.
    public var droppedDatagrams: Int { state.withLock { $0.dropped } }

    /// The child's end of a new route: a blocking datagram socket (CLOEXEC) to hand the child as
    /// its stderr, and close after the spawn. Datagrams sent before ``attach(_:to:)`` are kept.
    public func makeChildEnd() throws(SystemError) -> (fd: Int32, route: Route) {
        // A name taken by someone else (abstract names are visible in /proc/net/unix) fails the
        // bind; the next number is tried.
        var lastError = SystemError.current("socket(stderr)")
        for _ in 0..<4 {
            let own = state.withLock { state -> String in
                state.next += 1
                let own = "\(name)/\(state.next)"
                state.routes[own] = .pending(chunks: [], bytes: 0)
                return own
            }
            let child = procmgr_stderr_sink_child_end(name, own, Self.childSendBuffer)
            if child >= 0 { return (child, Route(name: own)) }
            lastError = .current("socket(stderr)")
            state.withLock { _ = $0.routes.removeValue(forKey: own) }
            guard lastError.errno == EADDRINUSE else { break }
        }
        throw lastError
    }

    /// Hands the route's datagrams to `deliver`, first those kept so far, in order. `deliver`
    /// runs under the sink's lock (that is what keeps the order): quick, and never back into the sink.
    public func attach(_ route: Route, to deliver: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        state.withLock { state in
            guard case .pending(let chunks, _)? = state.routes[route.name] else { return }
            for chunk in chunks { chunk.withUnsafeBytes { deliver($0) } }
            state.routes[route.name] = .bound(deliver)
        }
    }

    /// Forgets the route: later datagrams from it are dropped.
    public func detach(_ route: Route) {
        state.withLock { _ = $0.routes.removeValue(forKey: route.name) }
    }

    /// Reads and routes what is queued now (reactor thread only: the scratch buffer is its).
    /// `limit`: at most this many datagrams (a readiness event), else until the queue is empty.
    func drain(limit: Int = 4_096) {
        var from = [CChar](repeating: 0, count: 108)
        for _ in 0..<limit {
            var fromLength = 0
            let received = from.withUnsafeMutableBufferPointer { from in
                procmgr_stderr_sink_receive(fd, scratch.pointer, scratch.size, from.baseAddress, from.count, &fromLength)
            }
            guard received >= 0 else { return }  // EAGAIN: empty
            let length = min(Int(received), scratch.size)
            let sender = from.withUnsafeBufferPointer { buffer in
                String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: fromLength), as: UTF8.self)
            }
            let bytes = UnsafeRawBufferPointer(start: scratch.pointer, count: length)
            state.withLock { state in
                switch state.routes[sender] {
                case .bound(let deliver)?:
                    deliver(bytes)
                case .pending(var chunks, let kept)?:
                    guard kept + length <= Self.pendingLimit else {
                        state.dropped += 1
                        return
                    }
                    chunks.append(Array(bytes))
                    state.routes[sender] = .pending(chunks: chunks, bytes: kept + length)
                case nil:
                    state.dropped += 1
                }
            }
        }
    }

    deinit {
        Glibc.close(fd)
    }
}
