import ProcmgrSupport

/// The last lines a process wrote, across restarts of its program (the API's logs), bounded.
final class RecentLines: Sendable {
    private struct Ring {
        var lines: [CapturedLine] = []
        var next = 0
        var capacity: Int
    }

    private let ring: LockedState<Ring>

    init(capacity: Int) {
        ring = LockedState(Ring(capacity: max(0, capacity)))
    }

    func append(_ line: CapturedLine) {
        ring.withLock { ring in
            guard ring.capacity > 0 else { return }
            if ring.lines.count < ring.capacity {
                ring.lines.append(line)
            } else {
                ring.lines[ring.next] = line
                ring.next = (ring.next + 1) % ring.capacity
            }
        }
    }

    /// Oldest first.
    var lines: [CapturedLine] {
        ring.withLock { ring in Array(ring.lines[ring.next...] + ring.lines[..<ring.next]) }
    }
}
