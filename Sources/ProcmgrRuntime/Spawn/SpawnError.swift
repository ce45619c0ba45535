import CProcmgrShims
import Glibc

/// Why a child could not be started, phrased for the operator who has to fix it.
public struct SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No such program (not in PATH, wrong path, or a missing `#!` interpreter).
        case executableNotFound
        /// The program exists but may not be executed.
        case permissionDenied
        /// The working directory is missing, not a directory or not accessible.
        case badWorkingDirectory
        /// The agent ran out of descriptors (EMFILE/ENFILE).
        case tooManyOpenFiles
        /// Anything else (invalid spec, fork limits, exec format errors, …).
        case other
    }

    public var code: Code
    /// The errno behind the failure (0 for validation errors).
    public var errno: Int32
    /// What happened and what to fix.
    public var message: String

    public init(code: Code, errno: Int32, message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> SpawnError {
        SpawnError(code: .other, errno: EINVAL, message: message)
    }

    /// Maps a failure reported by `procmgr_spawn` (stage + errno) to an operator message.
    static func from(stage: Int32, errno code: Int32, spec: SpawnSpec, path: String) -> SpawnError {
        let program = "cannot start '\(spec.programName)'"
        let why = ErrnoName.describe(code)
        if code == EMFILE || code == ENFILE {
            return SpawnError(
                code: .tooManyOpenFiles, errno: code,
                message: "\(program): too many open files in procmgr (\(why)); raise the open-file limit (ulimit -n / LimitNOFILE=) or run fewer processes")
        }
        switch stage {
        case Int32(PROCMGR_STAGE_CHDIR.rawValue):
            let dir = spec.workingDirectory ?? "?"
            let detail: String
            switch code {
            case ENOENT: detail = "working directory '\(dir)' does not exist; create it or fix working_dir"
            case ENOTDIR: detail = "working directory '\(dir)' is not a directory (or a component of its path is not)"
            case EACCES: detail = "permission denied entering working directory '\(dir)'; check its permissions (and those of its parents)"
            default: detail = "cannot enter working directory '\(dir)': \(why)"
            }
            return SpawnError(code: .badWorkingDirectory, errno: code, message: "\(program): \(detail)")
        case Int32(PROCMGR_STAGE_EXEC.rawValue):
            switch code {
            case ENOENT:
                return SpawnError(
                    code: .executableNotFound, errno: code,
                    message: "\(program): no such file '\(path)'\(path.hasPrefix("/") ? "" : " (relative to the working directory)"); check the path, and for a script check that its #! interpreter exists")
            case ENOTDIR:
                return SpawnError(code: .executableNotFound, errno: code, message: "\(program): a component of '\(path)' is not a directory")
            case EACCES:
                return SpawnError(
                    code: .permissionDenied, errno: code,
                    message: "\(program): permission denied executing '\(path)'; make it executable (chmod +x), check the permissions of its directories, or the filesystem is mounted noexec")
            case EPERM:
                return SpawnError(code: .permissionDenied, errno: code, message: "\(program): execution of '\(path)' not permitted (\(why))")
            case ENOEXEC:
                return SpawnError(code: .other, errno: code, message: "\(program): '\(path)' is not an executable format (a script needs a #! line)")
            case E2BIG:
                return SpawnError(code: .other, errno: code, message: "\(program): argument list and environment too large")
            case ETXTBSY:
                return SpawnError(code: .other, errno: code, message: "\(program): '\(path)' is being written by another process (ETXTBSY); retry after the deploy finished")
            default:
                return SpawnError(code: .other, errno: code, message: "\(program): execve('\(path)') failed: \(why)")
            }
        case Int32(PROCMGR_STAGE_FDS.rawValue):
            if code == EBADF {
                return SpawnError(code: .other, errno: code, message: "\(program): an inherited descriptor is not open in the agent (\(why))")
            }
            return SpawnError(code: .other, errno: code, message: "\(program): setting up descriptors failed: \(why)")
        case Int32(PROCMGR_STAGE_PARENT.rawValue):
            if code == EAGAIN {
                return SpawnError(code: .other, errno: code, message: "\(program): cannot create a process (\(why)); the process limit (ulimit -u / TasksMax= / pid_max) is reached")
            }
            return SpawnError(code: .other, errno: code, message: "\(program): cannot create a process: \(why)")
        case Int32(PROCMGR_STAGE_PARENT_GONE.rawValue):
            return SpawnError(code: .other, errno: code, message: "\(program): the agent exited while the child was starting")
        case Int32(PROCMGR_STAGE_SETPGID.rawValue):
            return SpawnError(code: .other, errno: code, message: "\(program): setpgid failed: \(why)")
        case Int32(PROCMGR_STAGE_PDEATHSIG.rawValue):
            return SpawnError(code: .other, errno: code, message: "\(program): prctl(PR_SET_PDEATHSIG) failed: \(why)")
        default:
            return SpawnError(code: .other, errno: code, message: "\(program): spawn failed at stage \(stage): \(why)")
        }
    }
}
