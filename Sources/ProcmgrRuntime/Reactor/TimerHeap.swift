/// The epoll loop's timers: a min-heap of CLOCK_MONOTONIC deadlines with at most one entry per
/// timer token — ``DelayQueue``'s behaviour, written out for these concrete types.
///
/// Why not `DelayQueue<UInt64, UInt64, Handler>`: it lives in ProcmgrEngine and is not specialized
/// across the module boundary, so every sift step went through value witnesses and generic
/// metadata lookups. With 1,000 heartbeat children that was a quarter of the loop thread's CPU
/// (perf, release build). Here every operation is plain code on `UInt64`s. (Tried once more on
/// 2026-12-02: `DelayQueue` made `@inlinable` throughout and used here with a wrapped handler gave
/// 1.71 % of a core for 1,000 heartbeat children against ~1.0 % with this heap, same build, same
/// machine — so the copy stays, and keeps its reference-free nodes.)
struct TimerHeap {
    typealias Handler = @Sendable () -> Void

    /// What ``popDue(now:into:)`` hands out.
    struct Entry {
        var token: UInt64
        var deadline: UInt64
        var handler: Handler
    }

    /// A heap node holds no reference: sifting moves two words and retains nothing (with the
    /// handler in the node, every comparison copied it — a retain and a release per step).
    private struct Node {
        var deadline: UInt64
        var token: UInt64
    }

    /// The handler wrapped in a concrete struct: a bare closure stored as a Dictionary value is
    /// kept at the generic (maximal) abstraction, and converting it back on every pop allocated a
    /// reabstraction thunk — one malloc per timer expiry.
    private struct Stored {
        let handler: Handler
    }

    private var heap: [Node] = []
    private var indexByToken: [UInt64: Int] = [:]
    private var handlers: [UInt64: Stored] = [:]

    var count: Int { heap.count }
    /// The earliest deadline, if any.
    var nextDeadline: UInt64? { heap.first?.deadline }

    /// Queues `token` at `deadline`, replacing any entry it had.
    mutating func schedule(_ token: UInt64, at deadline: UInt64, handler: @escaping Handler) {
        handlers[token] = Stored(handler: handler)
        if let index = indexByToken[token] {
            let old = heap[index].deadline
            heap[index].deadline = deadline
            if deadline < old { siftUp(index) } else { siftDown(index) }
        } else {
            heap.append(Node(deadline: deadline, token: token))
            indexByToken[token] = heap.count - 1
            siftUp(heap.count - 1)
        }
    }

    /// Removes the entry of `token`, if queued.
    @discardableResult
    mutating func remove(_ token: UInt64) -> Entry? {
        guard let index = indexByToken[token] else { return nil }
        return removeEntry(at: index)
    }

    /// Removes every entry due at `now` and appends it to `due`, earliest first.
    mutating func popDue(now: UInt64, into due: inout [Entry]) {
        while let first = heap.first, first.deadline <= now {
            due.append(removeEntry(at: 0))
        }
    }

    private mutating func removeEntry(at index: Int) -> Entry {
        let removed = heap[index]
        indexByToken[removed.token] = nil
        guard let stored = handlers.removeValue(forKey: removed.token) else {
            // invariant: an entry and its handler are added and removed together.
            preconditionFailure("timer heap entry without a handler")
        }
        let handler = stored.handler
        let last = heap.removeLast()
        if index < heap.count {
            heap[index] = last
            indexByToken[last.token] = index
            siftDown(index)
            siftUp(index)
        }
        return Entry(token: removed.token, deadline: removed.deadline, handler: handler)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            swapAt(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        indexByToken[heap[a].token] = a
        indexByToken[heap[b].token] = b
    }
}
