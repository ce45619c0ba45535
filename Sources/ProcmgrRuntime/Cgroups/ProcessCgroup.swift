import Glibc

/// The cgroup of one managed process: its directory in the v2 hierarchy and in each v1
/// hierarchy it needs. Membership is the truth about what belongs to the process: a
/// descendant that calls `setsid()`, double-forks or changes its process group stays a member.
public final class ProcessCgroup: Sendable {
    public let name: String
    /// The v2 directory (membership, `cgroup.kill`, usage; limits of ``unifiedControllers``).
    let unified: String?
    let unifiedControllers: Set<CgroupController>
    /// The v1 directory of each controller this process uses.
    let v1: [CgroupController: String]
    /// Where members are listed: v2, else the v1 membership hierarchy.
    let membershipDirectory: String?

    init(name: String, layout: CgroupLayout, directoryName: String, v1: [CgroupController: String]) {
        self.name = name
        self.unified = layout.unified.map { $0 + "/" + directoryName }
        self.unifiedControllers = layout.unifiedControllers
        self.v1 = v1
        self.membershipDirectory = unified ?? layout.v1Membership.flatMap { v1[$0] }
    }

    /// Every directory of the process, each once (v1 controllers may share a mount).
    var directories: [String] {
        var seen: Set<String> = []
        return ([unified].compactMap { $0 } + CgroupController.allCases.compactMap { v1[$0] }).filter { seen.insert($0).inserted }
    }

    /// What a spawn needs to make its child a member of every directory before the program
    /// runs (``SpawnSpec`` `cgroupProcsFDs` and `cgroupInto`); the caller closes ``descriptors``.
    public struct JoinFiles: Sendable {
        /// Written "0" by the child: each v1 directory's `tasks`, and the v2 directory's
        /// `cgroup.procs` (only where the kernel cannot create the child in it).
        public var procs: [Int32] = []
        /// The v2 directory (`O_DIRECTORY`), and which entry of ``procs`` is its `cgroup.procs`.
        public var into: SpawnSpec.CgroupInto?

        public var descriptors: [Int32] { procs + [into?.directoryFD].compactMap { $0 } }
    }

    /// Opens what the spawn needs to join the child to every directory before exec.
    ///
    /// Why not simply `cgroup.procs` everywhere: a write to `cgroup.procs` (a whole thread group)
    /// takes the kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
    /// period — 6–14 ms on an idle machine, measured, nearly all of a restart's latency. The
    /// v2 directory is joined by creating the child in it (clone3 `CLONE_INTO_CGROUP`, no
    /// such wait; `cgroup.procs` stays open as the fallback of older kernels); a v1 hierarchy by
    /// writing the `tasks` file, which moves one thread and skips that lock (0.25 ms) — exactly
    /// the whole child, which is single-threaded until exec.
    public func openJoinFiles() throws(CgroupError) -> JoinFiles {
        var files = JoinFiles()
        do throws(CgroupError) {
            for directory in directories {
                if directory == unified {
                    let procs = try Self.openForWriting(directory + "/cgroup.procs")
                    files.procs.append(procs)
                    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    if fd >= 0 { files.into = SpawnSpec.CgroupInto(directoryFD: fd, procsIndex: files.procs.count - 1) }
                } else {
                    let tasks = open(directory + "/tasks", O_WRONLY | O_CLOEXEC)
                    files.procs.append(tasks >= 0 ? tasks : try Self.openForWriting(directory + "/cgroup.procs"))
                }
            }
        } catch {
            for fd in files.descriptors { close(fd) }
            throw error
        }
        return files
    }

    private static func openForWriting(_ path: String) throws(CgroupError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError(operation: "open", path: path, errno: errno) }
        return fd
    }

    /// Moves a running process into every directory of this cgroup (adoption, tests; a spawn
    /// joins before exec through ``openJoinFiles()``).
    func attach(pid: Int32) throws(CgroupError) {
        for directory in directories {
            let code = CgroupFiles.write("\(pid)", to: directory + "/cgroup.procs")
            if code != 0 { throw CgroupError(operation: "attach \(pid) to", path: directory, errno: code) }
        }
    }

    /// The member processes (thread-group ids); [] when the cgroup is gone or unreadable.
    public func members() -> [Int32] {
        guard let membershipDirectory, let text = CgroupFiles.read(membershipDirectory + "/cgroup.procs") else { return [] }
        return CgroupFiles.parsePIDs(text)
    }

    /// True when no process is a member (v2 `cgroup.events` "populated 0", else an empty
    /// `cgroup.procs`). Exited members that are zombies do not count: the process group check
    /// of a stop covers them.
    public var isEmpty: Bool {
        if let unified, let populated = CgroupFiles.readKeyedNumbers(unified + "/cgroup.events")?["populated"] {
            return populated == 0
        }
        return members().isEmpty
    }

    /// Sends `signal` to every member outside process group `signalledGroup` (the caller sent
    /// it to that group already with one `kill(-pgid)`, which also reaches members forked since
    /// the listing). Why not every member: a member of the group would get the signal twice, and
    /// many programs read a second SIGTERM or SIGINT as "quit now, skip the clean shutdown".
    public func signalAll(_ signal: Int32, exceptGroup signalledGroup: Int32? = nil) {
        for pid in members() where signalledGroup == nil || getpgid(pid) != signalledGroup {
            _ = kill(pid, signal)
        }
    }

    /// SIGKILLs every member, including processes forked meanwhile: v2 `cgroup.kill` (the
    /// kernel kills the whole cgroup at once), else freeze → SIGKILL each member → thaw, so
    /// no member can fork between the listing and the kill.
    public func killAll() {
        if let unified, CgroupFiles.write("1", to: unified + "/cgroup.kill") == 0 { return }
        let freezer = CgroupFreezer(cgroup: self)
        freezer?.freeze()
        for _ in 0..<(freezer == nil ? 20 : 1) {
            let members = members()
            if members.isEmpty { break }
            for pid in members { _ = kill(pid, SIGKILL) }
        }
        freezer?.thaw()
    }

    /// Removes every directory (rmdir); false while one is still busy (members left).
    public func remove() -> Bool {
        var removed = true
        for directory in directories.reversed() where rmdir(directory) != 0 && errno != ENOENT {
            removed = false
        }
        return removed
    }

    /// Polls ``isEmpty`` (0.25 ms doubling up to 10 ms) until true or `timeout` passed: for
    /// the sweep at start, which runs before anything else and has nothing better to do.
    func waitUntilEmpty(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var pause: UInt32 = 250
        while !isEmpty {
            if clock.now >= deadline { return false }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        return true
    }
}
