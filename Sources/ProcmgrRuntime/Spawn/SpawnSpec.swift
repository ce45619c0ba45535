import Glibc

/// Passes a descriptor of the agent to the child under a chosen number.
///
/// Example: the heartbeat socket's child end becomes fd 3 in the child, whose number the
/// child learns from `PROCMGR_HEARTBEAT_FD=3`.
public struct FDMapping: Sendable, Hashable {
    /// The number the descriptor gets in the child (3 or higher; 0-2 are managed by the spawn).
    public var childFD: Int32
    /// An open descriptor of the agent. Not closed by the spawn.
    public var parentFD: Int32

    public init(childFD: Int32, parentFD: Int32) {
        self.childFD = childFD
        self.parentFD = parentFD
    }
}

/// Everything needed to start one child. A value type: it crosses to the spawn thread.
public struct SpawnSpec: Sendable, Hashable {
    /// argv. `arguments[0]` is the program: looked up in the `PATH` of ``environment`` when it
    /// has no slash, otherwise used as a path (relative paths resolve against
    /// ``workingDirectory``). Never passed through a shell.
    public var arguments: [String]
    /// Overrides the program path while keeping `arguments[0]` as argv[0].
    public var executable: String?
    /// The child's complete environment (nothing is inherited implicitly; see
    /// ``ProcessEnvironment/current()``).
    public var environment: [String: String]
    /// Directory the child starts in; nil keeps the agent's.
    public var workingDirectory: String?
    /// True: stdout and stderr go to pipes returned in ``SpawnedProcess``. False: the child
    /// writes to the agent's own stdout/stderr. stdin is always `/dev/null`.
    public var captureOutput: Bool
    /// With ``captureOutput``: stderr goes to the spawn thread's shared ``StderrSink`` (returned as
    /// ``SpawnedProcess/stderrRoute``) instead of a pipe of its own, so the child costs the agent
    /// one descriptor instead of two. Ignored by a spawn thread without a sink.
    public var stderrThroughSink: Bool = false
    /// Extra descriptors to pass (child fd number ← agent fd).
    public var inheritedFDs: [FDMapping]
    /// When set (and ``captureOutput`` is false), the child's stdout and stderr are these agent
    /// descriptors instead (not closed by the spawn): the FIFOs of `orphans: adopt`.
    public var outputFDs: OutputFDs?
    /// `PR_SET_PDEATHSIG(SIGKILL)`: the child dies with the agent's spawn thread. Turn off
    /// only for `orphans: adopt`, where children must outlive an agent restart.
    public var killWithParent: Bool
    /// Who the child runs as; nil: the agent's own credentials. The spawn switches to it and
    /// does not touch the environment (see ``ProcessIdentity/loginEnvironment(over:)``).
    public var identity: ProcessIdentity?
    /// rlimits set in the child before exec; empty: the agent's are inherited.
    public var resourceLimits: [ResourceLimit]
    /// Open `O_WRONLY` descriptors of membership files of the agent (a v2 `cgroup.procs`, a v1
    /// `tasks` or `cgroup.procs`); the child writes "0" to each (but the one ``cgroupInto``
    /// made needless) before anything of the program runs, so it is a member from its first
    /// instruction. Not closed by the spawn.
    public var cgroupProcsFDs: [Int32]
    /// An `O_DIRECTORY` descriptor of the process's cgroup v2 directory to create the child in
    /// (clone3 `CLONE_INTO_CGROUP`), and the index of that directory's `cgroup.procs` in
    /// ``cgroupProcsFDs`` (not written then; written where the kernel cannot create into a
    /// cgroup). Why: see ``ProcessCgroup/openJoinFiles()``. Not closed by the spawn.
    public var cgroupInto: CgroupInto?

    /// A cgroup v2 directory to create the child in (see ``SpawnSpec/cgroupInto``).
    public struct CgroupInto: Sendable, Hashable {
        public var directoryFD: Int32
        /// The entry of ``SpawnSpec/cgroupProcsFDs`` that is this directory's `cgroup.procs`.
        public var procsIndex: Int

        public init(directoryFD: Int32, procsIndex: Int) {
            self.directoryFD = directoryFD
            self.procsIndex = procsIndex
        }
    }

    public init(
        arguments: [String],
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        captureOutput: Bool = true,
        inheritedFDs: [FDMapping] = [],
        killWithParent: Bool = true,
        executable: String? = nil,
        outputFDs: OutputFDs? = nil,
        identity: ProcessIdentity? = nil,
        resourceLimits: [ResourceLimit] = [],
        cgroupProcsFDs: [Int32] = []
    ) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.captureOutput = captureOutput
        self.inheritedFDs = inheritedFDs
        self.killWithParent = killWithParent
        self.executable = executable
        self.outputFDs = outputFDs
        self.identity = identity
        self.resourceLimits = resourceLimits
        self.cgroupProcsFDs = cgroupProcsFDs
    }

    /// The program as the operator wrote it, for messages.
    var programName: String { executable ?? arguments.first ?? "<empty command>" }
}

/// Descriptors of the agent that become a child's stdout and stderr.
public struct OutputFDs: Sendable, Hashable {
    public var stdout: Int32
    public var stderr: Int32

    public init(stdout: Int32, stderr: Int32) {
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Identity of a running process the agent manages: enough to signal, stop and wait for it.
public struct ProcessHandle: Sendable {
    public let pid: Int32
    /// Process group id; equal to ``pid`` for spawned children (they lead their own group).
    public let pgid: Int32
    /// Refers to this process and no other, even after pid reuse: signal it through this.
    public let leader: ProcessReference
    /// Field 22 of `/proc/PID/stat` (clock ticks since boot), 0 if unavailable.
    public let startTime: UInt64
    /// Fulfilled when the process has exited (and, for children, been reaped).
    public let exit: ExitFuture

    public init(pid: Int32, pgid: Int32, leader: ProcessReference, startTime: UInt64, exit: ExitFuture) {
        self.pid = pid
        self.pgid = pgid
        self.leader = leader
        self.startTime = startTime
        self.exit = exit
    }
}

/// A freshly started child.
///
/// Ownership: ``stdoutFD`` / ``stderrFD`` (non-blocking, CLOEXEC) belong to the caller: hand
/// them to ``OutputCapture/attach(name:stdout:stderr:configuration:onLine:)`` (which closes
/// them at EOF) or close them.
public struct SpawnedProcess: Sendable {
    public let handle: ProcessHandle
    public let stdoutFD: Int32?
    public let stderrFD: Int32?
    /// Where stderr arrives instead of ``stderrFD`` (``SpawnSpec/stderrThroughSink``): pass it to
    /// ``OutputCapture/attach(name:stdout:stderr:stderrRoute:configuration:onLine:)``, or detach it.
    public let stderrRoute: (sink: StderrSink, route: StderrSink.Route)?

    public init(handle: ProcessHandle, stdoutFD: Int32?, stderrFD: Int32?, stderrRoute: (sink: StderrSink, route: StderrSink.Route)? = nil) {
        self.handle = handle
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        self.stderrRoute = stderrRoute
    }

    public var pid: Int32 { handle.pid }
    public var pgid: Int32 { handle.pgid }
    public var leader: ProcessReference { handle.leader }
    public var exit: ExitFuture { handle.exit }
}

/// Helpers for building child environments.
public enum ProcessEnvironment {
    /// The agent's own environment as a dictionary.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            cursor += 1
        }
        return result
    }

    /// `PATH` used when the child environment has none (glibc's `execvp` default).
    public static let defaultSearchPath = "/usr/local/bin:/usr/bin:/bin"
}
