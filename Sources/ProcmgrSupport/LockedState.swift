#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a `pthread_mutex_t`.
///
/// Why not `Synchronization.Mutex`: on Linux with Swift 6.3 the thread sanitizer does not see
/// `Mutex`'s futex-based acquire/release (two tasks incrementing an `Int` under `Mutex.withLock`
/// are reported as a race), so a TSan run over code built on it drowns in false reports and can
/// no longer find real ones. TSan intercepts `pthread_mutex_lock`, so this lock keeps the
/// sanitizer useful; its uncontended cost is a few nanoseconds more. Use it for state shared between
/// tasks; use `Atomic` for single hot counters.
///
/// Sendable only when `Value` is: a lock makes access exclusive, but a non-Sendable value (a
/// class reference, say) handed out of ``withLock(_:)`` could still be shared unguarded.
public final class LockedState<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        defer { pthread_mutexattr_destroy(&attributes) }
        #if os(Linux)
        // Critical sections here are bookkeeping of a microsecond or less: spinning briefly before
        // sleeping in the kernel beats a futex round trip (glibc's adaptive mutex does that).
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        #endif
        let status = pthread_mutex_init(mutex, &attributes)
        // invariant: fails only for an invalid attribute or no memory, neither from input.
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value. Keep `body` short and never `await` in it.
    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&valueStorage)
    }

    @usableFromInline
    var valueStorage: Value {
        _read { yield value }
        _modify { yield &value }
    }

    @usableFromInline
    func lock() {
        pthread_mutex_lock(mutex)
    }

    @usableFromInline
    func unlock() {
        pthread_mutex_unlock(mutex)
    }
}

// Safety: every access to `value` goes through `withLock`, which holds the pthread mutex.
extension LockedState: @unchecked Sendable where Value: Sendable {}
