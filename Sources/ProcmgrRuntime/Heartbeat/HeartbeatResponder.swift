import Glibc

/// Child side of the heartbeat: answers `PING <seq>` with `PONG <seq>` on the descriptor named
/// by `PROCMGR_HEARTBEAT_FD`, and ends the process when the agent's end closes.
///
/// Why exit on EOF: EOF means the agent died (or dropped the child). A child that keeps
/// running without its supervisor is exactly the orphan procmgr promises not to leave.
///
/// For Swift children; `examples/heartbeat_child.py` is the same in dependency-free Python.
public enum HeartbeatResponder {
    /// Starts answering on a dedicated thread. Returns false when no descriptor is configured
    /// (the child was started without a heartbeat).
    /// - Parameters:
    ///   - fd: the descriptor; read from `PROCMGR_HEARTBEAT_FD` when nil.
    ///   - onAgentGone: called on EOF or read error; the default exits the process with 0.
    @discardableResult
    public static func start(fd: Int32? = nil, onAgentGone: (@Sendable () -> Void)? = nil) -> Bool {
        var descriptor = fd
        if descriptor == nil, let raw = getenv(HeartbeatChannel.environmentVariable) {
            descriptor = Int32(String(cString: raw))
        }
        guard let descriptor, descriptor >= 0 else { return false }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)  // do not leak it to our own children
        do {
            try OSThread.start(name: "heartbeat") {
                serve(descriptor)
                if let onAgentGone { onAgentGone() } else { _exit(0) }
            }
        } catch {
            return false
        }
        return true
    }

    /// Answers until EOF. Blocking.
    static func serve(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var line: [UInt8] = []
        while true {
            // Wait in poll(), not in read(): when the agent reads our PONG, the freed send buffer
            // wakes every sleeper on this socket with "writable". poll() filters that out by event
            // mask; a thread blocked in read() is woken for nothing — a needless context switch
            // for us, and a wakeup the agent's loop thread pays for, once per heartbeat.
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&waiting, 1, -1) < 0 && errno != EINTR { return }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            for byte in buffer[0..<n] {
                if byte != 0x0A {
                    if line.count < 64 { line.append(byte) }
                    continue
                }
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                guard text.hasPrefix("PING ") else { continue }
                let reply = Array("PONG \(text.dropFirst(5))\n".utf8)
                var written = 0
                while written < reply.count {
                    let w = reply.withUnsafeBytes { raw in raw.baseAddress.map { send(fd, $0 + written, raw.count - written, Int32(MSG_NOSIGNAL)) } ?? 0 }
                    if w < 0 && errno == EINTR { continue }
                    if w < 0 { return }
                    written += w
                }
            }
        }
    }
}
