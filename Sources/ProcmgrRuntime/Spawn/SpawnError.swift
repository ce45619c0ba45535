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
        /// The child could not join its cgroup (`cgroup.procs` not writable, cgroup removed, …).
        case cgroupJoin
        /// A `limits:` rlimit could not be set.
        case resourceLimit
        /// The switch to `user:` / `group:` (setgroups, setgid, setuid) failed.
        case identity
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

    /// Maps a failure reported by `procmgr_spawn` (stage + errno, and for the cgroup and rlimit
    /// stages the index of the failing entry) to an operator message.
    static func from(stage: Int32, errno code: Int32, detail: Int32 = 0, spec: SpawnSpec, path: String) -> SpawnError {
        let program = "cannot start '\(spec.programName)'"
        let why = ErrnoName.describe(code)
        if let context = executionContext(stage: stage, errno: code, detail: Int(detail), spec: spec) {
            return SpawnError(code: context.code, errno: code, message: "\(program): \(context.message)")
        }
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
            case EACCES: detail = "permission denied entering working directory '\(dir)'\(Self.runningAs(spec)); check its permissions (and those of its parents)"
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
                    message: "\(program): permission denied executing '\(path)'\(Self.runningAs(spec)); make it executable (chmod +x), check the permissions of its directories, or the filesystem is mounted noexec")
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

extension SpawnError {
    /// The stages of the execution context (cgroup, rlimits, credentials): nil for the others.
    private static func executionContext(stage: Int32, errno code: Int32, detail: Int, spec: SpawnSpec) -> (code: Code, message: String)? {
        let why = ErrnoName.describe(code)
        switch stage {
        case Int32(PROCMGR_STAGE_CGROUP.rawValue):
            let file = spec.cgroupProcsFDs.indices.contains(detail) ? descriptorTarget(spec.cgroupProcsFDs[detail]) : nil
            let target = file.map { " (\($0))" } ?? ""
            let hint = code == EBADF ? "; the cgroup.procs descriptor is not open for writing" : code == ENOENT || code == ENODEV ? "; the cgroup was removed" : ""
            return (.cgroupJoin, "cannot join cgroup\(target): \(why)\(hint)")
        case Int32(PROCMGR_STAGE_RLIMIT.rawValue):
            guard spec.resourceLimits.indices.contains(detail) else { return (.resourceLimit, "setrlimit failed: \(why)") }
            let limit = spec.resourceLimits[detail]
            let values = "soft \(limitText(limit.soft)), hard \(limitText(limit.hard))"
            let hint: String
            switch code {
            case EPERM where limit.kind == .nofile:
                hint = "; raising the hard limit needs root, and it cannot exceed fs.nr_open (\(nrOpen.map(String.init) ?? "?"))"
            case EPERM: hint = "; raising a hard limit above procmgr's own needs root"
            default: hint = ""
            }
            return (.resourceLimit, "setrlimit(\(limit.kind.constantName)) failed: \(why) (\(values))\(hint)")
        case Int32(PROCMGR_STAGE_SETGROUPS.rawValue):
            let groups = spec.identity?.supplementaryGroups.map(String.init).joined(separator: ",") ?? ""
            return (.identity, "cannot set supplementary groups [\(groups)]: \(why)\(privilegeHint(code))")
        case Int32(PROCMGR_STAGE_SETGID.rawValue):
            return (.identity, "cannot switch to gid \(spec.identity.map { String($0.gid) } ?? "?"): \(why)\(privilegeHint(code))")
        case Int32(PROCMGR_STAGE_SETUID.rawValue):
            let hint = code == EAGAIN ? "; the user is at its process limit (RLIMIT_NPROC)" : privilegeHint(code)
            return (.identity, "cannot switch to uid \(spec.identity.map { String($0.uid) } ?? "?"): \(why)\(hint)")
        default:
            return nil
        }
    }

    /// " as user nobody (uid 65534)" when the child switched users: a permission error then
    /// means that user's rights, not the agent's.
    private static func runningAs(_ spec: SpawnSpec) -> String {
        spec.identity.map { " as user \($0.userName) (uid \($0.uid))" } ?? ""
    }

    private static func privilegeHint(_ code: Int32) -> String {
        code == EPERM ? "; only root may start a process as another user or group (procmgr runs as uid \(geteuid()))" : ""
    }

    private static func limitText(_ value: UInt64) -> String {
        value == .max ? "unlimited" : String(value)
    }

    /// What an agent descriptor is open on (`/proc/self/fd`), for messages.
    private static func descriptorTarget(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `fs.nr_open`: the ceiling of RLIMIT_NOFILE.
    private static var nrOpen: Int? {
        let fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return Int(String(decoding: buffer[0..<n], as: UTF8.self).filter(\.isNumber))
    }
}
