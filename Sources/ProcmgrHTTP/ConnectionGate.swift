import NIOCore
import ProcmgrSupport

/// The API's open connections, at most `maxConnections`: admits a new one, and at the cap makes
/// room by closing the connection idle the longest.
///
/// Why evict rather than only refuse: idle connections cost a descriptor and nothing else, and
/// whoever holds hundreds of them idle (a scanner, a leaking client, an attack that needs no
/// token) would otherwise keep `/healthz` and `/metrics` from answering until the idle timeout.
/// A connection whose request is in progress is never evicted; only when every slot is busy is
/// the new connection refused (503). A connection counts as busy from its request head to the end
/// of its response, so one trickling a head in byte by byte is idle, and evictable.
///
/// Called from every event loop (admission in the child channel's setup, busy/idle from its
/// pipeline, release when it closes), hence a `LockedState`; at the cap, admission scans the
/// table (a few hundred entries) once.
final class ConnectionGate: Sendable {
    enum Admission {
        case admitted
        /// Admitted in place of this idle connection, which the caller closes.
        case admittedEvicting(any Channel)
        /// Every slot holds a request in progress.
        case refused
    }

    private struct Entry {
        let channel: any Channel
        var busy = false
        /// When the connection last became idle, in admission/idle order (smaller: idle longer).
        var idleSince: UInt64
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var clock: UInt64 = 0

        mutating func tick() -> UInt64 {
            clock += 1
            return clock
        }
    }

    let maxConnections: Int
    private let state = LockedState(State())

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Takes a slot for `channel`; ``release(_:)`` gives it back when the channel closes.
    func admit(_ channel: any Channel) -> Admission {
        state.withLock { state in
            var evicted: (any Channel)?
            if state.entries.count >= maxConnections {
                let idlest = state.entries.filter { !$0.value.busy }.min { $0.value.idleSince < $1.value.idleSince }
                guard let idlest else { return .refused }
                state.entries[idlest.key] = nil
                evicted = idlest.value.channel
            }
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, idleSince: state.tick())
            return evicted.map { .admittedEvicting($0) } ?? .admitted
        }
    }

    /// The connection's slot is free again (no-op for one already evicted).
    func release(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)] = nil }
    }

    /// A request head arrived: not evictable until its response is written.
    func markBusy(_ channel: any Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.busy = true }
    }

    /// Its last response was written: evictable, after those idle longer.
    func markIdle(_ channel: any Channel) {
        state.withLock { state in
            let now = state.tick()
            guard state.entries[ObjectIdentifier(channel)] != nil else { return }
            state.entries[ObjectIdentifier(channel)]?.busy = false
            state.entries[ObjectIdentifier(channel)]?.idleSince = now
        }
    }

    var openConnections: Int { state.withLock { $0.entries.count } }
}
