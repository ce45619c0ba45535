import ProcmgrSupport
import Glibc

/// Hands out TCP ports from a range to children (e.g. `PORT=30017`), never the same port to
/// two holders.
///
/// Why a cursor: a port released by a stopped child may still be in TIME_WAIT or be the
/// address a client reconnects to; handing it straight to the next child invites confusion.
/// Allocation continues round-robin after the last port handed out.
///
/// Why a bind check: other programs on the host may already use a port of the range. Each
/// candidate is bound on 127.0.0.1 (without SO_REUSEADDR, so TIME_WAIT also counts as busy)
/// and closed again before it is handed out. There is an unavoidable window between that check
/// and the child's own bind; the check removes the common conflicts, not that race.
public final class PortAllocator: Sendable {
    public struct AllocationError: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Code: String, Sendable, Hashable {
            /// Every port of the range is held or bound by someone.
            case exhausted
            /// A fixed port outside the range was requested.
            case outOfRange
            /// A fixed port is already held by another process of the agent.
            case alreadyAllocated
            /// A fixed port is bound by another program.
            case boundByOtherProgram
        }

        public var code: Code
        public var port: Int?
        public var message: String
        public var description: String { message }
    }

    private struct State {
        var inUse: Set<Int> = []
        var cursor: Int
    }

    public let range: ClosedRange<Int>
    private let state: LockedState<State>
    private let isBindable: @Sendable (Int) -> Bool

    /// - Parameter isBindable: the bind check; replaceable in tests.
    public init(range: ClosedRange<Int>, isBindable: (@Sendable (Int) -> Bool)? = nil) {
        // invariant: the config's PortRange holds UInt16 bounds with lower ≥ 1 (validated).
        precondition(range.lowerBound >= 1 && range.upperBound <= 65535, "port range \(range) is not within 1-65535")
        self.range = range
        self.state = LockedState(State(cursor: range.lowerBound))
        self.isBindable = isBindable ?? PortAllocator.canBindLoopback
    }

    /// Ports currently handed out.
    public var inUse: Int { state.withLock { $0.inUse.count } }

    /// Allocates the next free, bindable port after the cursor.
    public func allocate() throws(AllocationError) -> Int {
        let outcome = state.withLock { state -> Result<Int, AllocationError> in
            let count = range.count
            var boundElsewhere = 0
            for step in 0..<count {
                let port = range.lowerBound + (state.cursor - range.lowerBound + step) % count
                if state.inUse.contains(port) { continue }
                if !isBindable(port) {
                    boundElsewhere += 1
                    continue
                }
                state.inUse.insert(port)
                state.cursor = port == range.upperBound ? range.lowerBound : port + 1
                return .success(port)
            }
            return .failure(AllocationError(
                code: .exhausted, port: nil,
                message: "no free port in \(range.lowerBound)-\(range.upperBound): \(state.inUse.count) in use by procmgr, \(boundElsewhere) bound by other programs; widen the port range or stop some processes"))
        }
        return try outcome.get()
    }

    /// Claims a specific port (a process configured with a fixed port).
    public func reserve(fixed port: Int) throws(AllocationError) {
        let failure = state.withLock { state -> AllocationError? in
            guard range.contains(port) else {
                return AllocationError(code: .outOfRange, port: port, message: "port \(port) is outside the managed range \(range.lowerBound)-\(range.upperBound)")
            }
            guard !state.inUse.contains(port) else {
                return AllocationError(code: .alreadyAllocated, port: port, message: "port \(port) is already allocated to another process of this agent")
            }
            guard isBindable(port) else {
                return AllocationError(code: .boundByOtherProgram, port: port, message: "port \(port) is already bound by another program on this host (or in TIME_WAIT)")
            }
            state.inUse.insert(port)
            return nil
        }
        if let failure { throw failure }
    }

    /// Claims the port of a re-adopted child. No bind check: the port *is* bound, by that child.
    /// Fails only when this agent already gave it to another process.
    public func reserve(adopted port: Int) throws(AllocationError) {
        let taken = state.withLock { !$0.inUse.insert(port).inserted }
        if taken {
            throw AllocationError(code: .alreadyAllocated, port: port, message: "port \(port) of an adopted child is already allocated to another process of this agent")
        }
    }

    /// Returns a port. Releasing a port that is not held is a no-op (returns false).
    @discardableResult
    public func release(_ port: Int) -> Bool {
        state.withLock { $0.inUse.remove(port) != nil }
    }

    /// Whether `port` is currently handed out.
    public func isAllocated(_ port: Int) -> Bool {
        state.withLock { $0.inUse.contains(port) }
    }

    /// Binds 127.0.0.1:`port` (TCP, no SO_REUSEADDR) and closes it again.
    public static func canBindLoopback(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
