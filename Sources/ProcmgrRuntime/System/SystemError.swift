import Glibc

/// A failed system call: which operation, and the errno it set.
///
/// Why a dedicated type: operators read these in logs, so the message names the operation,
/// the symbolic errno (`EMFILE`) and the C library's text, never just a number.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was attempted, e.g. `"epoll_create1"`.
    public let operation: String
    /// The errno value.
    public let errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// Captures the calling thread's current errno.
    static func current(_ operation: String) -> SystemError {
        SystemError(operation, errno: Glibc.errno)
    }

    public var description: String {
        "\(operation) failed: \(ErrnoName.describe(errno))"
    }
}

/// Errno naming helpers shared by every error message of this module.
public enum ErrnoName {
    /// `"No such file or directory (ENOENT)"`.
    public static func describe(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        if let name = name(code) { return "\(text) (\(name))" }
        return "\(text) (errno \(code))"
    }

    /// The symbolic name of common errno values, nil for the rest.
    public static func name(_ code: Int32) -> String? {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case E2BIG: "E2BIG"
        case ENOEXEC: "ENOEXEC"
        case EBADF: "EBADF"
        case ECHILD: "ECHILD"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case ETXTBSY: "ETXTBSY"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case EPIPE: "EPIPE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOSYS: "ENOSYS"
        case ELOOP: "ELOOP"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ECONNRESET: "ECONNRESET"
        case ELIBBAD: "ELIBBAD"
        default: nil
        }
    }
}
