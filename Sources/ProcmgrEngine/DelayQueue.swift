/// A min-heap of deadlines with at most one entry per key.
///
/// Scheduling a key that is already queued replaces its entry (the worker's latest decision about
/// when to run next wins), so the queue never holds more entries than there are workers and its
/// depth is a meaningful metric. Every operation is O(log n); the key → index map makes replace and
/// remove cheap, which matters when 10,000 workers churn.
///
/// `package`, though the runtime's epoll loops now keep their timers in `TimerHeap`, a concrete
/// copy: this generic one is not specialized across the module boundary.
package struct DelayQueue<Key: Hashable & Sendable, Deadline: Comparable & Sendable, Payload: Sendable>: Sendable {
    package struct Entry: Sendable {
        package var key: Key
        package var deadline: Deadline
        package var payload: Payload
    }

    private var heap: [Entry] = []
    private var indexByKey: [Key: Int] = [:]

    package init() {}

    package var count: Int { heap.count }
    package var isEmpty: Bool { heap.isEmpty }
    /// The earliest deadline, if any.
    package var nextDeadline: Deadline? { heap.first?.deadline }

    package func deadline(of key: Key) -> Deadline? {
        indexByKey[key].map { heap[$0].deadline }
    }

    /// Queues `key` at `deadline`, replacing any entry it had.
    /// - Returns: whether the earliest deadline of the queue moved earlier (a waiting driver must
    ///   be woken to sleep for less).
    @discardableResult
    package mutating func schedule(_ key: Key, at deadline: Deadline, payload: Payload) -> Bool {
        let previousFirst = heap.first?.deadline
        if let index = indexByKey[key] {
            let old = heap[index].deadline
            heap[index].deadline = deadline
            heap[index].payload = payload
            if deadline < old { siftUp(index) } else { siftDown(index) }
        } else {
            heap.append(Entry(key: key, deadline: deadline, payload: payload))
            indexByKey[key] = heap.count - 1
            siftUp(heap.count - 1)
        }
        guard let previousFirst else { return true }
        return deadline < previousFirst
    }

    /// Removes the entry of `key`, if queued.
    @discardableResult
    package mutating func remove(_ key: Key) -> Entry? {
        guard let index = indexByKey[key] else { return nil }
        return removeEntry(at: index)
    }

    /// Removes and returns every entry whose deadline is at or before `now`, earliest first.
    package mutating func popDue(now: Deadline) -> [Entry] {
        var due: [Entry] = []
        while let first = heap.first, first.deadline <= now {
            due.append(removeEntry(at: 0))
        }
        return due
    }

    private mutating func removeEntry(at index: Int) -> Entry {
        let removed = heap[index]
        indexByKey[removed.key] = nil
        let last = heap.removeLast()
        if index < heap.count {
            heap[index] = last
            indexByKey[last.key] = index
            siftDown(index)
            siftUp(index)
        }
        return removed
    }

    // Sifting moves a hole rather than swapping: each entry that moves is written, and its index
    // recorded, once — an index update hashes the key, and with 10,000 workers churning these
    // updates were most of the queue's cost.

    private mutating func siftUp(_ start: Int) {
        var child = start
        let moving = heap[child]
        while child > 0 {
            let parent = (child - 1) / 2
            guard moving.deadline < heap[parent].deadline else { break }
            place(heap[parent], at: child)
            child = parent
        }
        if child != start { place(moving, at: child) }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let moving = heap[parent]
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = left
            guard left < heap.count else { break }
            if right < heap.count, heap[right].deadline < heap[left].deadline { smallest = right }
            guard heap[smallest].deadline < moving.deadline else { break }
            place(heap[smallest], at: parent)
            parent = smallest
        }
        if parent != start { place(moving, at: parent) }
    }

    private mutating func place(_ entry: Entry, at index: Int) {
        heap[index] = entry
        indexByKey[entry.key] = index
    }
}
