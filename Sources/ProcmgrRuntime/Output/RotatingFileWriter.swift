import Glibc

/// Appends lines to a file and rotates it by size: `file` → `file.1` → … → `file.K`
/// (the oldest is dropped).
///
/// Why size-based and in-process: per-process logs on disk must stay bounded without an
/// external logrotate, and rotation must not lose lines or need the child's cooperation.
/// Used only from the capture thread (not thread-safe by itself).
struct RotatingFileWriter {
    let path: String
    let maxBytes: Int
    let keep: Int
    private var fd: Int32 = -1
    private var size = 0
    private var buffer: [UInt8] = []

    init(path: String, maxBytes: Int, keep: Int) throws(SystemError) {
        self.path = path
        self.maxBytes = max(1, maxBytes)
        self.keep = max(0, keep)
        try reopen()
    }

    /// Buffers one line (a newline is added); call ``flush()`` after a batch.
    mutating func append(_ line: String) throws(SystemError) {
        let length = line.utf8.count + 1
        if size + buffer.count + length > maxBytes && size + buffer.count > 0 {
            try flush()
            try rotate()
        }
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 64 * 1024 { try flush() }
    }

    mutating func flush() throws(SystemError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { raw in raw.baseAddress.map { write(fd, $0 + written, raw.count - written) } ?? 0 }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                buffer.removeAll(keepingCapacity: true)
                throw .current("write(\(path))")
            }
            written += n
        }
        size += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() {
        try? flush()
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    private mutating func rotate() throws(SystemError) {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        if keep == 0 {
            unlink(path)
        } else {
            unlink("\(path).\(keep)")
            if keep > 1 {
                for index in stride(from: keep - 1, through: 1, by: -1) {
                    _ = rename("\(path).\(index)", "\(path).\(index + 1)")
                }
            }
            _ = rename(path, "\(path).1")
        }
        try reopen()
    }

    private mutating func reopen() throws(SystemError) {
        let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw .current("open(\(path))") }
        var info = stat()
        size = fstat(opened, &info) == 0 ? Int(info.st_size) : 0
        fd = opened
    }
}
