import CProcmgrShims
import Glibc

/// Starts dedicated, detached OS threads.
///
/// Why not Swift concurrency: the loops here block in `epoll_wait`/`read` for their whole life,
/// and the spawn thread must be one *fixed* thread because `PR_SET_PDEATHSIG` fires when the
/// thread that created the child exits. Blocking the cooperative pool would starve the agent.
enum OSThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached pthread named `name` (truncated to 15 bytes, the
    /// kernel's limit, so it shows in `top -H` / `ps -L`).
    /// - Throws: when the kernel refuses a thread (EAGAIN: a thread or pids limit), so the caller
    ///   can report it instead of the agent dying.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let threadName = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        let context = Unmanaged.passRetained(Box {
            procmgr_set_current_thread_name(threadName)
            body()
        }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }  // always the context passed below
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw SystemError("pthread_create(\(name))", errno: rc)
        }
        pthread_detach(thread)
    }

    /// The calling thread's id as a plain integer (pthread_t is an unsigned long on Linux).
    static var currentID: UInt { UInt(pthread_self()) }
}
