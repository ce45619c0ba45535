#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounded history of elements numbered 1, 2, 3 … and the live subscribers that follow it.
///
/// Why one type: the events stream (`GET /api/v1/events`) and a followed log
/// (`…/logs?follow=true`) are the same problem — keep the last `capacity` entries so a client can
/// resume after the id it last saw (`Last-Event-ID`), and hand every new entry to each follower
/// without letting a slow or stuck follower hold anything up.
///
/// The publisher never waits: ``append(_:)`` takes the lock once, stores the entry, and moves it
/// into each subscriber's buffer. A subscriber whose buffer already holds `subscriberBuffer`
/// entries is **overflowed** instead: its buffer is released, it is unregistered, and its reader
/// gets ``Delivery/overflowed`` (the HTTP layer closes that stream and counts the drop). So the
/// memory a subscriber can pin is bounded by `subscriberBuffer` entries, whatever it does.
///
/// A subscriber that is waiting costs a suspended continuation and nothing else: no timer, no
/// task of its own. Keep-alives come from outside (one ticker for every stream, ``Subscription/poke()``).
public final class StreamRing<Element: Sendable>: Sendable {
    /// An element and the id it was published under.
    public struct Entry: Sendable {
        public let id: UInt64
        public let element: Element

        public init(id: UInt64, element: Element) {
            self.id = id
            self.element = element
        }
    }

    /// What a new subscriber gets before the live entries.
    public struct Replay: Sendable {
        /// Entries to send first, oldest first.
        public var entries: [Entry]
        /// Set when the subscriber asked to resume after an id whose successors are no longer
        /// all in the ring: `(requested, oldest)` — entries `requested + 1 ..< oldest` are lost.
        public var missed: (requested: UInt64, oldest: UInt64)?
    }

    private struct State {
        var entries: [Entry] = []
        /// Index of the oldest entry once the ring is full.
        var head = 0
        var lastID: UInt64 = 0
        var subscribers: [ObjectIdentifier: Subscription] = [:]
    }

    public let capacity: Int
    public let subscriberBuffer: Int
    private let state: LockedState<State>

    /// - Parameters:
    ///   - capacity: entries kept for resuming and tails (at least 1).
    ///   - subscriberBuffer: entries one subscriber may have waiting before it is overflowed (at least 1).
    ///   - firstID: the id of the first entry (default 1). An agent starts its rings at its start
    ///     time in microseconds, so ids keep increasing across agent restarts and a client
    ///     resuming with an id from the previous agent is told what it missed instead of being
    ///     replayed unrelated entries under reused ids.
    public init(capacity: Int, subscriberBuffer: Int, firstID: UInt64 = 1) {
        self.capacity = max(1, capacity)
        self.subscriberBuffer = max(1, subscriberBuffer)
        state = LockedState(State(lastID: max(1, firstID) - 1))
    }

    /// A first id for a ring created now: the wall clock in microseconds since 1970. A ring
    /// created by a later agent (or for a process's later life) starts above every id an earlier
    /// one can have handed out, unless that one published more than one entry per microsecond of
    /// its life; the value stays below 2^53, so JavaScript clients read it exactly.
    public static func epochID() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(1, now.tv_sec)) * 1_000_000 + UInt64(max(0, now.tv_nsec) / 1_000)
    }

    /// The id of the newest entry (firstID - 1 before the first).
    public var lastID: UInt64 { state.withLock { $0.lastID } }

    /// Live subscribers.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Stores `element` under the next id and hands it to every subscriber; returns the entry.
    @discardableResult
    public func append(_ element: Element) -> Entry {
        appendNumbered { _ in element }
    }

    /// ``append(_:)`` for an element that carries its own id: `make` gets the id and returns the
    /// element to store (it runs under the ring's lock: keep it to a field assignment).
    @discardableResult
    public func appendNumbered(_ make: (UInt64) -> Element) -> Entry {
        let (entry, overflowed) = state.withLock { state -> (Entry, [Subscription]) in
            state.lastID += 1
            let entry = Entry(id: state.lastID, element: make(state.lastID))
            if state.entries.count < capacity {
                state.entries.append(entry)
            } else {
                state.entries[state.head] = entry
                state.head = (state.head + 1) % capacity
            }
            var overflowed: [Subscription] = []
            for (key, subscriber) in state.subscribers where !subscriber.deliver(entry, limit: subscriberBuffer) {
                state.subscribers[key] = nil
                overflowed.append(subscriber)
            }
            return (entry, overflowed)
        }
        // Resumed outside the ring's lock: a resumed reader may call back into the ring at once.
        for subscriber in overflowed { subscriber.finish(.overflowed) }
        return entry
    }

    /// The newest `count` entries, oldest first.
    public func tail(_ count: Int) -> [Entry] {
        state.withLock { Self.ordered($0).suffix(max(0, count)) }
    }

    /// Registers a subscriber and returns what to send before its live entries, in one step under
    /// the lock, so nothing published meanwhile is lost or sent twice.
    ///
    /// - Parameters:
    ///   - after: resume after this id (`Last-Event-ID`): every kept entry with a larger id. An id
    ///     from the future (larger than ``lastID``, e.g. from before an agent restart) replays nothing.
    ///   - tail: without `after`, the newest `tail` entries (0: none).
    ///   - onOverflow: called once, outside every lock, when the subscriber is overflowed. A reader
    ///     blocked in a socket write is not waiting in ``Subscription/next()``, so this is how the
    ///     HTTP layer learns it must close that connection instead of waiting for the write.
    public func subscribe(
        after: UInt64?, tail: Int = 0, onOverflow: (@Sendable () -> Void)? = nil
    ) -> (replay: Replay, subscription: Subscription) {
        let subscription = Subscription(ring: self, onOverflow: onOverflow)
        let replay = state.withLock { state -> Replay in
            state.subscribers[ObjectIdentifier(subscription)] = subscription
            let ordered = Self.ordered(state)
            guard let after else { return Replay(entries: Array(ordered.suffix(max(0, tail)))) }
            let entries = ordered.filter { $0.id > after }
            let oldest = ordered.first?.id ?? state.lastID + 1
            let missed = after + 1 < oldest && after < state.lastID ? (after, oldest) : nil
            return Replay(entries: entries, missed: missed)
        }
        return (replay, subscription)
    }

    fileprivate func unsubscribe(_ subscription: Subscription) {
        state.withLock { $0.subscribers[ObjectIdentifier(subscription)] = nil }
    }

    private static func ordered(_ state: State) -> [Entry] {
        Array(state.entries[state.head...] + state.entries[..<state.head])
    }

    /// What a reader gets from ``Subscription/next()``.
    public enum Delivery: Sendable {
        /// Entries published since the last delivery, oldest first (never empty).
        case entries([Entry])
        /// Woken by ``Subscription/poke()`` with nothing new: time for a keep-alive.
        case keepAlive
        /// The reader fell `subscriberBuffer` entries behind and was dropped; nothing more comes.
        case overflowed
    }

    /// One follower of the ring. Read it from one task with ``next()``; ``cancel()`` (or
    /// cancelling the reading task) ends it.
    public final class Subscription: Sendable {
        private enum End: Sendable {
            case overflowed
            case cancelled
        }

        private struct State {
            var buffer: [Entry] = []
            var waiter: CheckedContinuation<Delivery?, Never>?
            var poked = false
            var end: End?
        }

        private let ring: StreamRing<Element>
        private let state = LockedState(State())
        private let onOverflow: (@Sendable () -> Void)?

        fileprivate init(ring: StreamRing<Element>, onOverflow: (@Sendable () -> Void)?) {
            self.ring = ring
            self.onOverflow = onOverflow
        }

        /// The next delivery, waiting for one; `nil` once cancelled (or the reading task is).
        public func next() async -> Delivery? {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Delivery?, Never>) in
                    let outcome = state.withLock { state -> Outcome in
                        let outcome = Self.take(&state)
                        if case .wait = outcome { state.waiter = continuation }
                        return outcome
                    }
                    if case .ready(let delivery) = outcome { continuation.resume(returning: delivery) }
                }
            } onCancel: {
                cancel()
            }
        }

        /// Wakes a waiting reader with ``Delivery/keepAlive`` (or makes the next call return it).
        public func poke() {
            let waiter = state.withLock { state -> CheckedContinuation<Delivery?, Never>? in
                guard state.end == nil else { return nil }
                if let waiter = state.waiter, state.buffer.isEmpty {
                    state.waiter = nil
                    return waiter
                }
                state.poked = true
                return nil
            }
            waiter?.resume(returning: .keepAlive)
        }

        /// Unregisters; a waiting reader gets `nil`.
        public func cancel() {
            ring.unsubscribe(self)
            finish(nil)
        }

        /// Under the ring's lock: buffers `entry`, or refuses (false) when the buffer is full.
        fileprivate func deliver(_ entry: Entry, limit: Int) -> Bool {
            let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Delivery?, Never>?) in
                guard state.end == nil else { return (true, nil) }
                guard state.buffer.count < limit else { return (false, nil) }
                if let waiter = state.waiter {
                    state.waiter = nil
                    return (true, waiter)
                }
                state.buffer.append(entry)
                return (true, nil)
            }
            // A waiting reader takes the entry directly; resuming only schedules its task.
            waiter?.resume(returning: .entries([entry]))
            return accepted
        }

        fileprivate func finish(_ reason: Delivery?) {
            let (ended, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Delivery?, Never>?) in
                guard state.end == nil else { return (false, nil) }
                state.buffer = []
                if let waiter = state.waiter {
                    // The waiting reader hears the reason now; later calls get nil.
                    state.waiter = nil
                    state.end = End.cancelled
                    return (true, waiter)
                }
                state.end = reason == nil ? End.cancelled : End.overflowed
                return (true, nil)
            }
            if ended, case .overflowed? = reason { onOverflow?() }
            waiter?.resume(returning: reason)
        }

        private enum Outcome {
            case ready(Delivery?)
            case wait
        }

        private static func take(_ state: inout State) -> Outcome {
            if !state.buffer.isEmpty {
                defer { state.buffer = [] }
                state.poked = false
                return .ready(.entries(state.buffer))
            }
            switch state.end {
            case .overflowed?:
                state.end = .cancelled  // said once; later calls get nil
                return .ready(.overflowed)
            case .cancelled?:
                return .ready(nil)
            case nil:
                break
            }
            if state.poked {
                state.poked = false
                return .ready(.keepAlive)
            }
            return .wait
        }
    }
}
