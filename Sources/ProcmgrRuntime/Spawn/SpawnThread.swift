import ProcmgrSupport
import CProcmgrShims
import Glibc
public import Logging

/// Starts every child of the agent from one dedicated, long-lived OS thread.
///
/// Why a dedicated thread: `PR_SET_PDEATHSIG` fires when the *thread* that created the child
/// exits, not the process. Spawning from Swift's cooperative pool (whose threads may come and
/// go) would kill children at random; spawning from one thread that lives as long as the agent
/// ties the children's fate to the agent's.
///
/// Why not `Foundation.Process` / `posix_spawn`: the child must arm PDEATHSIG, join its own
/// process group and check that its parent is still alive between clone and exec, and
/// `fork` of a large multi-threaded parent is slow. The C shim uses
/// `clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD)`, which does not copy the address space and
/// returns a pidfd atomically (the shim reaps a failed child through it; the agent keeps it only
/// where its ``ExitWatcher`` needs it: see ``ExitWatcher/watchChild(pid:pidfd:)``).
///
/// Why spawn slots: with ~1,000 children the agent holds ~3,000 close-on-exec descriptors
/// (pidfds, output pipes), and a plain clone copies all of them into every child only for exec
/// to close them again — most of a spawn's cost at that scale. So the thread reserves a few
/// descriptors at low numbers when it starts (``spawnSlots``); for each spawn the C shim parks
/// the child's descriptors there, shares the fd table with the child (`CLONE_FILES`) and the
/// child unshares only the table's low end (`close_range(CLOSE_RANGE_UNSHARE)`). A spawn with
/// more descriptors than slots takes the plain path.
///
/// Every child is registered with the ``ExitWatcher`` (and the ``Guardian``, if given) before
/// ``spawn(_:)`` returns, so even a child that exits instantly has its status collected.
///
/// Create one per process and keep it for the life of the agent: its thread never exits.
public final class SpawnThread: Sendable {
    private struct Request {
        let spec: SpawnSpec
        let continuation: CheckedContinuation<Result<SpawnedProcess, SpawnError>, Never>
    }

    private let queue = LockedState<[Request]>([])
    private let pressure = LockedState(DescriptorPressure())
    private let wakeFD: Int32
    private let devNullFD: Int32
    /// Reserved low descriptors (each on /dev/null between spawns); only the spawn thread
    /// touches them. Empty if they could not be reserved: every spawn then takes the plain path.
    private let slots: [Int32]
    /// stdin, stdout, stderr, the error pipe and up to four inherited descriptors (heartbeat).
    private static let spawnSlots = 8
    /// NGROUPS_MAX of Linux since 2.6.4.
    private static let maxSupplementaryGroups = 65_536
    private let agentPID: Int32
    private let watcher: ExitWatcher
    private let guardian: Guardian?
    /// Where children's stderr goes when their spec asks (``SpawnSpec/stderrThroughSink``).
    public let stderrSink: StderrSink?
    private let logger: Logger

    /// - Parameters:
    ///   - watcher: tracks every spawned child (required: a child nobody reaps is a zombie).
    ///   - guardian: if set, each child's process group is registered with it before
    ///     ``spawn(_:)`` returns.
    public init(
        watcher: ExitWatcher,
        guardian: Guardian? = nil,
        stderrSink: StderrSink? = nil,
        logger: Logger = Logger(label: "procmgr.runtime.spawn")
    ) throws(SystemError) {
        self.stderrSink = stderrSink
        let wake = procmgr_eventfd(0, 0)  // blocking: the thread sleeps in read()
        guard wake >= 0 else { throw .current("eventfd") }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else {
            let error = SystemError.current("open(/dev/null)")
            close(wake)
            throw error
        }
        var slots = [Int32](repeating: -1, count: Self.spawnSlots)
        if procmgr_spawn_reserve_slots(devNull, &slots, Int32(slots.count)) != 0 {
            logger.warning("cannot reserve spawn slots; spawning copies the whole descriptor table", metadata: ["errno": "\(errno)"])
            slots = []
        }
        self.slots = slots
        self.wakeFD = wake
        self.devNullFD = devNull
        self.agentPID = getpid()
        self.watcher = watcher
        self.guardian = guardian
        self.logger = logger
        try OSThread.start(name: "procmgr-spawn") { [self] in self.run() }
    }

    /// Starts a child. Suspends only while the spawn thread works (typically well under a
    /// millisecond; requests are served in order) — and while spawning is paused because the
    /// agent ran out of descriptors (``DescriptorPressure``).
    public func spawn(_ spec: SpawnSpec) async throws(SpawnError) -> SpawnedProcess {
        await admitUnderPressure()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<SpawnedProcess, SpawnError>, Never>) in
            queue.withLock { $0.append(Request(spec: spec, continuation: continuation)) }
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
        report(result)
        return try result.get()
    }

    /// Whether spawning is paused for want of descriptors (for metrics and status).
    public var isPausedForDescriptors: Bool { pressure.withLock { $0.isPaused } }

    /// Waits while spawning is paused. Not cancellable: as for ``StartGate``, a start that waited
    /// goes on to spawn, and the engine terminates it afterwards if it must.
    private func admitUnderPressure() async {
        while case .waitUntil(let until) = pressure.withLock({ $0.admit(now: .now) }) {
            try? await Task.sleep(until: until, clock: .continuous)
        }
    }

    private func report(_ result: Result<SpawnedProcess, SpawnError>) {
        let outcome: DescriptorPressure.Outcome
        switch result {
        case .success: outcome = .success
        case .failure(let error): outcome = error.code == .tooManyOpenFiles ? .outOfDescriptors : .otherFailure
        }
        let transition = pressure.withLock { $0.finished(outcome, now: .now) }
        switch transition {
        case .paused(let pause)?:
            logger.error("out of descriptors: every spawn waits and one retries first, the pause doubling up to 5 s while it fails; raise the open-file limit or run fewer processes", metadata: ["first_pause": "\(pause)"])
        case .resumed?:
            logger.notice("descriptors available again: spawning resumed")
        case nil:
            break
        }
    }

    /// How long the thread waits after its last spawn before trimming the heap.
    static let heapTrimDelayMilliseconds: Int32 = 1_000

    private func run() {
        var spawnsSinceTrim = 0
        var codeRelease = CodeReleaseGate()
        var releaseReported = false
        while true {
            if spawnsSinceTrim > 0, !waitForRequests(timeoutMilliseconds: Self.heapTrimDelayMilliseconds) {
                // A burst of spawns is over (a cold start of 1,000 leaves ~10 MiB of freed task
                // frames and buffers spread over the malloc arenas, resident for good unless
                // handed back). This thread is idle and not part of the cooperative pool, so
                // the trim's millisecond costs nobody.
                _ = procmgr_heap_trim()
                if codeRelease.shouldRelease(afterBurstOf: spawnsSinceTrim, at: .now) {
                    releaseStartupCode(spawns: spawnsSinceTrim, report: !releaseReported)
                    releaseReported = true
                }
                spawnsSinceTrim = 0
                continue
            }
            var value: UInt64 = 0
            let n = read(wakeFD, &value, 8)
            if n < 0 { continue }  // EINTR
            let batch = queue.withLock { queue -> [Request] in
                defer { queue.removeAll() }
                return queue
            }
            for request in batch {
                request.continuation.resume(returning: perform(request.spec))
            }
            spawnsSinceTrim += batch.count
        }
    }

    /// Pages out the code start-up mapped (``ExecutablePages``); says once how that went.
    private func releaseStartupCode(spawns: Int, report: Bool) {
        let advised = ExecutablePages.release()
        let error = errno
        guard report else { return }
        if advised >= 0 {
            logger.debug("paged out start-up code", metadata: ["bytes": "\(advised)", "spawns": "\(spawns)"])
        } else {
            logger.info("start-up code stays resident: the kernel pages out only a binary this user owns or may write (or with CAP_FOWNER), or needs Linux 5.4", metadata: ["errno": "\(error)"])
        }
    }

    /// Whether a request is (or becomes) pending within the timeout; `poll` on the eventfd.
    private func waitForRequests(timeoutMilliseconds: Int32) -> Bool {
        var entry = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, timeoutMilliseconds)
        return ready != 0  // an error (EINTR) counts as "go and look"
    }

    // MARK: - spawn thread only

    private func perform(_ spec: SpawnSpec) -> Result<SpawnedProcess, SpawnError> {
        if let error = validate(spec) { return .failure(error) }
        let path: String
        switch ExecutableLookup.resolve(spec.executable ?? spec.arguments[0], environment: spec.environment) {
        case .success(let resolved): path = resolved
        case .failure(let error): return .failure(error)
        }

        var stdoutPipe: (read: Int32, write: Int32)?
        var stderrPipe: (read: Int32, write: Int32)?
        var stderrRoute: (fd: Int32, route: StderrSink.Route)?
        let sink = spec.captureOutput && spec.stderrThroughSink ? stderrSink : nil
        if spec.captureOutput {
            do {
                stdoutPipe = try makePipe()
                if let sink {
                    stderrRoute = try sink.makeChildEnd()
                } else {
                    stderrPipe = try makePipe()
                }
            } catch {
                for pipe in [stdoutPipe, stderrPipe].compactMap({ $0 }) {
                    close(pipe.read)
                    close(pipe.write)
                }
                return .failure(SpawnError.from(stage: Int32(PROCMGR_STAGE_PARENT.rawValue), errno: error.errno, spec: spec, path: path))
            }
        }
        defer {
            // The child has its copies; ours of the write ends must go or EOF never comes.
            if let stdoutPipe { close(stdoutPipe.write) }
            if let stderrPipe { close(stderrPipe.write) }
            if let stderrRoute { close(stderrRoute.fd) }
        }

        let stderrWrite = stderrPipe?.write ?? stderrRoute?.fd
        var sources: [Int32] = [devNullFD, stdoutPipe?.write ?? spec.outputFDs?.stdout ?? 1, stderrWrite ?? spec.outputFDs?.stderr ?? 2]
        var targets: [Int32] = [0, 1, 2]
        for mapping in spec.inheritedFDs {
            sources.append(mapping.parentFD)
            targets.append(mapping.childFD)
        }

        let argv = CStringArray(spec.arguments)
        let envp = CStringArray(spec.environment.map { "\($0.key)=\($0.value)" }.sorted())
        defer {
            argv.free()
            envp.free()
        }
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let fdLimit = Int32(clamping: min(limit.rlim_cur, rlim_t(1 << 20)))

        // Built here, read by the child in place: it must not allocate.
        let rlimits = spec.resourceLimits.map { procmgr_spawn_rlimit(resource: $0.kind.resource, soft: $0.soft, hard: $0.hard) }
        let groups = spec.identity?.supplementaryGroups ?? []

        var pid: Int32 = 0
        var pidfdRaw: Int32 = -1
        var stage: Int32 = 0
        var failureErrno: Int32 = 0
        var failureDetail: Int32 = 0
        let process: ProcessHandle? = watcher.withChildCreation { () -> ProcessHandle? in
            let rc = path.withCString { cPath in
                (spec.workingDirectory ?? "").withCString { cDir in
                    sources.withUnsafeBufferPointer { src in
                        targets.withUnsafeBufferPointer { dst in
                            slots.withUnsafeBufferPointer { slots in
                                spec.cgroupProcsFDs.withUnsafeBufferPointer { cgroupFDs in
                                    rlimits.withUnsafeBufferPointer { rlimits in
                                        groups.withUnsafeBufferPointer { groups in
                                            var attr = procmgr_spawn_attr(
                                                path: cPath,
                                                argv: argv.pointer,
                                                envp: envp.pointer,
                                                working_dir: spec.workingDirectory == nil ? nil : cDir,
                                                fd_sources: src.baseAddress,
                                                fd_targets: dst.baseAddress,
                                                fd_count: Int32(src.count),
                                                set_pdeathsig: spec.killWithParent ? 1 : 0,
                                                new_process_group: 1,
                                                expected_parent: agentPID,
                                                fd_limit: fdLimit,
                                                slots: slots.isEmpty ? nil : slots.baseAddress,
                                                slot_count: Int32(slots.count),
                                                slot_filler: devNullFD,
                                                cgroup_procs_fds: cgroupFDs.baseAddress,
                                                cgroup_procs_count: Int32(cgroupFDs.count),
                                                rlimits: rlimits.baseAddress,
                                                rlimit_count: Int32(rlimits.count),
                                                set_identity: spec.identity == nil ? 0 : 1,
                                                uid: spec.identity?.uid ?? 0,
                                                gid: spec.identity?.gid ?? 0,
                                                groups: groups.baseAddress,
                                                group_count: Int32(groups.count),
                                                cgroup_into_fd: spec.cgroupInto?.directoryFD ?? -1,
                                                cgroup_into_skip: Int32(spec.cgroupInto?.procsIndex ?? -1)
                                            )
                                            return procmgr_spawn(&attr, &pid, &pidfdRaw, &stage, &failureErrno, &failureDetail)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            guard rc == 0 else { return nil }
            let pidfd = PIDFD(adopting: pidfdRaw, pid: pid)
            let startTime = ProcStat.read(pid: pid)?.startTime ?? 0
            // The pidfd from the clone is released here (closed) unless the watcher needs it.
            let (exit, leader) = watcher.watchChild(pid: pid, pidfd: pidfd)
            return ProcessHandle(pid: pid, pgid: pid, leader: leader, startTime: startTime, exit: exit)
        }

        guard let process else {
            if let stdoutPipe { close(stdoutPipe.read) }
            if let stderrPipe { close(stderrPipe.read) }
            if let stderrRoute, let sink { sink.detach(stderrRoute.route) }
            return .failure(SpawnError.from(stage: stage, errno: failureErrno, detail: failureDetail, spec: spec, path: path))
        }
        if let guardian {
            do {
                try guardian.register(pgid: process.pgid)
            } catch {
                logger.error("guardian registration failed; this child's group would survive a crash of the agent", metadata: ["pid": "\(process.pid)", "error": "\(error)"])
            }
        }
        return .success(SpawnedProcess(
            handle: process, stdoutFD: stdoutPipe?.read, stderrFD: stderrPipe?.read,
            stderrRoute: stderrRoute.flatMap { route in sink.map { ($0, route.route) } }))
    }

    private func validate(_ spec: SpawnSpec) -> SpawnError? {
        guard !spec.arguments.isEmpty, !spec.arguments[0].isEmpty || spec.executable != nil else {
            return .invalid("cannot start a process: the command (argv) is empty")
        }
        let name = spec.programName
        for argument in spec.arguments where argument.utf8.contains(0) {
            return .invalid("cannot start '\(name)': argument \(argument.debugDescription) contains a NUL byte")
        }
        for (key, value) in spec.environment {
            if key.isEmpty || key.contains("=") || key.utf8.contains(0) || value.utf8.contains(0) {
                return .invalid("cannot start '\(name)': invalid environment variable name or value for \(key.debugDescription)")
            }
        }
        if let dir = spec.workingDirectory, dir.isEmpty || dir.utf8.contains(0) {
            return .invalid("cannot start '\(name)': invalid working directory \(dir.debugDescription)")
        }
        var seen: Set<Int32> = []
        for mapping in spec.inheritedFDs {
            if mapping.childFD < 3 || mapping.childFD > 1023 {
                return .invalid("cannot start '\(name)': inherited fd number \(mapping.childFD) must be between 3 and 1023 (0-2 are stdin/stdout/stderr)")
            }
            if !seen.insert(mapping.childFD).inserted {
                return .invalid("cannot start '\(name)': fd \(mapping.childFD) is mapped twice")
            }
        }
        if spec.inheritedFDs.count > 250 {
            return .invalid("cannot start '\(name)': too many inherited descriptors (\(spec.inheritedFDs.count), at most 250)")
        }
        if let fd = spec.cgroupProcsFDs.first(where: { $0 < 0 }) {
            return .invalid("cannot start '\(name)': invalid cgroup.procs descriptor \(fd)")
        }
        if let into = spec.cgroupInto, into.directoryFD < 0 || !spec.cgroupProcsFDs.indices.contains(into.procsIndex) {
            return .invalid("cannot start '\(name)': invalid cgroup directory descriptor \(into.directoryFD) (cgroup.procs entry \(into.procsIndex))")
        }
        for limit in spec.resourceLimits where limit.soft > limit.hard {
            return .invalid("cannot start '\(name)': \(limit.kind.constantName) soft limit \(limit.soft) is above its hard limit \(limit.hard)")
        }
        if let identity = spec.identity, identity.supplementaryGroups.count > Self.maxSupplementaryGroups {
            return .invalid("cannot start '\(name)': \(identity.userName) has \(identity.supplementaryGroups.count) supplementary groups, the kernel allows \(Self.maxSupplementaryGroups)")
        }
        return nil
    }

    private func makePipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        // Only our end is non-blocking: the child keeps ordinary blocking writes.
        guard procmgr_pipe_cloexec(&fds, 1) == 0 else { throw .current("pipe2") }
        return (fds[0], fds[1])
    }
}

/// A NULL-terminated `char *[]` built in the parent (the child must not allocate).
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointer[index] = strdup(string)
        }
        pointer[strings.count] = nil
    }

    func free() {
        for index in 0..<count { Glibc.free(pointer[index]) }
        pointer.deallocate()
    }
}
