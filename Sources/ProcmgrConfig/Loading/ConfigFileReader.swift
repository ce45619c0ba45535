public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the files a config names or is (the config itself, token files, the
/// admin cache) with a size cap checked before anything is read, and says
/// precisely why a path is not a readable file.
///
/// `Data(contentsOf:)` read whatever it was given: a 200 MB file whole (a
/// gigabyte of agent memory), a FIFO by blocking for ever, and it explained
/// failures as "permission" or an `NSCocoaErrorDomain` code. Here the path is
/// `stat`ed first, so a FIFO or device is never opened; it is then opened with
/// `O_NONBLOCK` (so a FIFO swapped in since cannot block the open) and
/// `fstat`ed again, and at most `limit + 1` bytes are read, so a file growing
/// under us is still refused.
public enum ConfigFileReader {
    /// Why a path could not be read; `description` completes "`<path>`: ".
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case missing
        case permissionDenied
        /// It exists but is not a regular file; the associated value names its kind
        /// ("a directory", "a FIFO (named pipe)", ...).
        case notRegularFile(String)
        case tooLarge(size: Int, limit: Int)
        /// Anything else the system reported, as `strerror` words it.
        case system(String)

        public var description: String {
            switch self {
            case .missing: "no such file"
            case .permissionDenied: "permission denied"
            case .notRegularFile(let kind): "is \(kind), not a regular file"
            case .tooLarge(let size, let limit):
                "is \(size) bytes, over the limit of \(ReadLimits.describe(bytes: limit))"
            case .system(let message): "cannot be read (\(message))"
            }
        }
    }

    /// The largest config file read (`ReadLimits.maxDocumentBytes`, 4 MiB).
    public static let maxConfigBytes = ReadLimits.maxDocumentBytes

    /// The whole file at `path` when it is a regular file of at most `limit` bytes.
    public static func read(path: String, limit: Int = maxConfigBytes) throws(Failure) -> Data {
        let limit = max(0, limit)
        var status = stat()
        guard stat(path, &status) == 0 else { throw failure(errno) }
        try requireRegular(status)
        try requireSize(status, limit: limit)

        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw failure(errno) }
        defer { close(descriptor) }
        guard fstat(descriptor, &status) == 0 else { throw failure(errno) }
        try requireRegular(status)
        try requireSize(status, limit: limit)

        var data = Data()
        let chunkSize = 64 << 10
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            // One byte past the limit is enough to know the file grew over it.
            let remaining = limit - data.count
            let request = remaining >= chunkSize ? chunkSize : remaining + 1
            let count = chunk.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress, request)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno)
            }
            if count == 0 { return data }
            data.append(contentsOf: chunk[0..<count])
            if data.count > limit { throw .tooLarge(size: data.count, limit: limit) }
        }
    }

    /// What kind of file `mode` describes, with its article: "a directory".
    static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }

    private static func requireRegular(_ status: stat) throws(Failure) {
        guard status.st_mode & S_IFMT == S_IFREG else { throw .notRegularFile(kind(of: status.st_mode)) }
    }

    private static func requireSize(_ status: stat, limit: Int) throws(Failure) {
        let size = Int(status.st_size)
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
    }

    static func failure(_ code: Int32) -> Failure {
        switch code {
        case ENOENT: .missing
        case EACCES, EPERM: .permissionDenied
        case ENOTDIR: .system("a component of the path is not a directory")
        default: .system(String(cString: strerror(code)))
        }
    }
}

/// `read(2)`, named apart from `ConfigFileReader.read(path:limit:)`.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
