public import ProcmgrSupport
import Glibc
public import Logging

/// One line of a child's output (the type lives in ProcmgrSupport so the HTTP layer can stream
/// the same ring of lines; the runtime's name stays).
public typealias CapturedLine = OutputLine
public typealias OutputStreamKind = ProcmgrSupport.OutputStreamKind

/// Counters of one capture.
public struct OutputCaptureStats: Sendable, Hashable {
    public var bytes = 0
    public var lines = 0
    public var truncatedLines = 0
}

/// Reads the stdout/stderr pipes of all children on the agent's ONE reactor thread.
///
/// Why one thread: it must scale to ~1,000 children (2,000 pipes) without 2,000 threads, and
/// never block the agent. Each readiness event reads at most 64 KiB from one pipe and then
/// returns to `epoll_wait`, so a child flooding output cannot starve the others; a slow
/// consumer only slows the pipe (the child blocks in `write`), never the agent.
///
/// Memory is bounded whatever a child writes: each line is cut at `maxLineBytes`
/// (see ``LineSplitter``), and a capture keeps no lines itself (`onLine` decides what to keep:
/// the runtime keeps the last `recentLines` per process), so it holds at most two partial lines.
public final class OutputCapture: Sendable {
    public struct FileOutput: Sendable, Hashable {
        /// Lines of both streams are appended here, rotated to `path.1` … `path.keep`.
        public var path: String
        public var maxBytes: Int
        public var keep: Int

        public init(path: String, maxBytes: Int = 10 * 1024 * 1024, keep: Int = 3) {
            self.path = path
            self.maxBytes = maxBytes
            self.keep = keep
        }
    }

    public struct Configuration: Sendable, Hashable {
        /// Longer lines are cut and marked.
        public var maxLineBytes: Int
        /// How many recent lines the runtime keeps per process for the API, across restarts
        /// (0: none). The capture itself keeps none: its `onLine` hands every line on.
        public var recentLines: Int
        /// Optional per-process file.
        public var file: FileOutput?

        public init(maxLineBytes: Int = 16 * 1024, recentLines: Int = 200, file: FileOutput? = nil) {
            self.maxLineBytes = maxLineBytes
            self.recentLines = recentLines
            self.file = file
        }
    }

    /// The loop the pipes are registered on: the agent's one reactor (shared with exit watching,
    /// stops, heartbeats and the config watcher).
    public let reactor: EpollThread
    private let scratch: ScratchBuffer
    private let logger: Logger

    public init(reactor: EpollThread, logger: Logger = Logger(label: "procmgr.runtime.output")) {
        self.reactor = reactor
        self.scratch = ScratchBuffer(size: 64 * 1024)
        self.logger = logger
    }

    /// Starts capturing. Takes ownership of `stdout` / `stderr` (closed at EOF or
    /// ``OutputCaptureHandle/detach()``, and before it throws: a pipe left open with no reader
    /// would block its writer for ever).
    ///
    /// `onLine` runs on the capture thread for every line, in order per stream; it must be
    /// quick and must not block (log it, count it, hand it off).
    ///
    /// `stderrRoute`: the child's stderr arrives through the shared ``StderrSink`` instead of a
    /// pipe (then pass `stderr: nil`); it ends when the last piped stream does, after the sink was
    /// drained of what the child wrote before.
    public func attach(
        name: String,
        stdout: Int32?,
        stderr: Int32?,
        stderrRoute: (sink: StderrSink, route: StderrSink.Route)? = nil,
        configuration: Configuration = Configuration(),
        onLine: @escaping @Sendable (CapturedLine) -> Void
    ) throws(SystemError) -> OutputCaptureHandle {
        var writer: RotatingFileWriter?
        if let file = configuration.file {
            do throws(SystemError) {
                writer = try RotatingFileWriter(path: file.path, maxBytes: file.maxBytes, keep: file.keep)
            } catch {
                for fd in [stdout, stderr] { if let fd { close(fd) } }
                if let stderrRoute { stderrRoute.sink.detach(stderrRoute.route) }
                throw error
            }
        }
        let handle = OutputCaptureHandle(
            name: name, configuration: configuration, writer: writer, reactor: reactor, logger: logger,
            stderrRoute: stderrRoute, onLine: onLine)
        var streams: [(OutputStreamKind, Int32)] = []
        if let stdout { streams.append((.stdout, stdout)) }
        if let stderr { streams.append((.stderr, stderr)) }
        handle.expect(streams.count, routed: stderrRoute != nil)
        if let stderrRoute {
            stderrRoute.sink.attach(stderrRoute.route) { [handle] bytes in handle.routed(.stderr, bytes) }
        }
        for (index, (kind, fd)) in streams.enumerated() {
            let token = reactor.makeToken()
            handle.setToken(token, for: kind)
            do {
                try reactor.register(fd: fd, events: EpollThread.Events.readable, token: token) { [handle, scratch] _ in
                    handle.readable(kind, fd: fd, scratch: scratch)
                }
            } catch {
                handle.detach()
                for (_, unregistered) in streams[index...] { close(unregistered) }
                throw error
            }
        }
        return handle
    }
}

/// A running capture of one process.
public final class OutputCaptureHandle: Sendable {
    private struct StreamState {
        var splitter: LineSplitter
        var token: EpollThread.Token?
        var open = true
    }

    private struct State {
        var streams: [OutputStreamKind: StreamState] = [:]
        var writer: RotatingFileWriter?
        var stats = OutputCaptureStats()
        var openStreams = 0
        /// The stderr stream comes through the sink and is still open.
        var routeOpen = false
    }

    public let name: String
    private let state: LockedState<State>
    private let finished = OneShot<Void>()
    private let reactor: EpollThread
    private let logger: Logger
    private let onLine: @Sendable (CapturedLine) -> Void
    private let maxLineBytes: Int
    private let stderrRoute: (sink: StderrSink, route: StderrSink.Route)?

    fileprivate init(
        name: String, configuration: OutputCapture.Configuration, writer: RotatingFileWriter?, reactor: EpollThread, logger: Logger,
        stderrRoute: (sink: StderrSink, route: StderrSink.Route)?, onLine: @escaping @Sendable (CapturedLine) -> Void
    ) {
        self.name = name
        self.stderrRoute = stderrRoute
        self.reactor = reactor
        self.logger = logger
        self.onLine = onLine
        self.maxLineBytes = configuration.maxLineBytes
        self.state = LockedState(State(writer: writer))
    }

    public var stats: OutputCaptureStats { state.withLock { $0.stats } }

    /// True once every stream reached EOF (or the capture was detached).
    public var isFinished: Bool { finished.value != nil }

    /// Waits until every stream reached EOF and its last line was delivered.
    public func waitUntilFinished() async { await finished.wait() }

    /// Bounded wait; false on timeout.
    public func waitUntilFinished(timeout: Duration) async -> Bool {
        await finished.wait(timeout: timeout) != nil
    }

    /// Stops reading and closes the pipes (partial lines are dropped).
    public func detach() {
        let tokens = state.withLock { state -> [EpollThread.Token] in
            var tokens: [EpollThread.Token] = []
            for (kind, stream) in state.streams where stream.open {
                if let token = stream.token { tokens.append(token) }
                state.streams[kind]?.open = false
            }
            state.openStreams = 0
            state.routeOpen = false
            state.writer?.close()
            state.writer = nil
            return tokens
        }
        for token in tokens { reactor.deregister(token, closing: true) }
        if let stderrRoute { stderrRoute.sink.detach(stderrRoute.route) }
        finished.fulfill(())
    }

    fileprivate func expect(_ count: Int, routed: Bool) {
        state.withLock { state in
            state.openStreams = count + (routed ? 1 : 0)
            state.routeOpen = routed
            if routed { state.streams[.stderr] = StreamState(splitter: LineSplitter(limit: maxLineBytes), token: nil) }
        }
        if count == 0 && !routed { finished.fulfill(()) }
    }

    /// Sink (under its lock, in order): bytes of the routed stream.
    fileprivate func routed(_ kind: OutputStreamKind, _ bytes: UnsafeRawBufferPointer) {
        _ = process(kind, bytes)
    }

    fileprivate func setToken(_ token: EpollThread.Token, for kind: OutputStreamKind) {
        state.withLock { $0.streams[kind] = StreamState(splitter: LineSplitter(limit: maxLineBytes), token: token) }
    }

    /// Capture thread: one read per readiness event (fairness across pipes).
    fileprivate func readable(_ kind: OutputStreamKind, fd: Int32, scratch: ScratchBuffer) {
        var n: Int
        repeat {
            n = read(fd, scratch.pointer, scratch.size)
        } while n < 0 && errno == EINTR
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
        let endRoute = process(kind, n <= 0 ? nil : UnsafeRawBufferPointer(start: scratch.pointer, count: n))
        if endRoute, let stderrRoute {
            // The piped streams ended: every writer is gone, so whatever the child sent to stderr
            // is queued in the sink by now. Read it, then end the routed stream.
            stderrRoute.sink.drain()
            stderrRoute.sink.detach(stderrRoute.route)
            _ = process(.stderr, nil)
        }
    }

    /// Feeds `bytes` (nil: end of stream) to `kind`'s splitter, hands on the lines, writes them to
    /// the file and finishes the capture after its last stream. Returns true when only the routed
    /// stderr is left open (the caller ends it).
    private func process(_ kind: OutputStreamKind, _ bytes: UnsafeRawBufferPointer?) -> Bool {
        var lines: [(text: String, dropped: Int)] = []
        var finishedNow = false
        var onlyRouteLeft = false
        var token: EpollThread.Token?
        var writeError: SystemError?
        let captured = state.withLock { state -> [CapturedLine] in
            guard var stream = state.streams[kind], stream.open else { return [] }
            if let bytes {
                state.stats.bytes += bytes.count
                stream.splitter.feed(bytes, into: &lines)
            } else {
                stream.splitter.finish(into: &lines)
                stream.open = false
                token = stream.token
                state.openStreams -= 1
                if kind == .stderr && stream.token == nil { state.routeOpen = false }
                finishedNow = state.openStreams == 0
                onlyRouteLeft = state.openStreams == 1 && state.routeOpen
            }
            state.streams[kind] = stream
            var result: [CapturedLine] = []
            result.reserveCapacity(lines.count)
            for (text, dropped) in lines {
                let line = CapturedLine(stream: kind, text: text, truncatedBytes: dropped)
                state.stats.lines += 1
                if dropped > 0 { state.stats.truncatedLines += 1 }
                if state.writer != nil {
                    do throws(SystemError) {
                        try state.writer?.append(text)
                    } catch {
                        writeError = error
                        state.writer?.close()
                        state.writer = nil
                    }
                }
                result.append(line)
            }
            if state.writer != nil {
                do throws(SystemError) {
                    try state.writer?.flush()
                    if finishedNow { state.writer?.close() }
                } catch {
                    writeError = error
                    state.writer?.close()
                    state.writer = nil
                }
            }
            return result
        }
        if let writeError {
            logger.warning("output file disabled for this process", metadata: ["process": "\(name)", "error": "\(writeError)"])
        }
        for line in captured { onLine(line) }
        if let token { reactor.deregister(token, closing: true) }
        if finishedNow { finished.fulfill(()) }
        return onlyRouteLeft
    }
}

/// A read buffer used only on one loop thread.
final class ScratchBuffer: @unchecked Sendable {
    // Safety: only touched from the owning EpollThread's handlers, which never run
    // concurrently.
    let pointer: UnsafeMutableRawPointer
    let size: Int

    init(size: Int) {
        self.size = size
        pointer = .allocate(byteCount: size, alignment: 16)
    }

    deinit { pointer.deallocate() }
}
