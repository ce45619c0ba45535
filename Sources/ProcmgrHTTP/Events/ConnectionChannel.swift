import NIOCore

/// The channel of the connection whose request the current task serves, set by
/// ``GuardedHTTP1Channel`` around each connection's handling.
///
/// Why: an SSE stream whose client stopped reading is blocked in a socket write, where nothing
/// but closing the connection reaches it. When its ring drops it (``StreamRing`` overflow), the
/// stream closes this channel; Hummingbird's request context does not expose it.
enum ConnectionChannel {
    @TaskLocal static var current: (any Channel)?
}
