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

    /// Opens `cgroup.procs` of every directory, write-only, for the spawn to join the child to
    /// before exec (``SpawnSpec`` `cgroupProcsFDs`). The caller closes them.
    public func openProcsFiles() throws(CgroupError) -> [Int32] {
        var fds: [Int32] = []
        for directory in directories {
            let path = directory + "/cgroup.procs"
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = CgroupError(operation: "open", path: path, errno: errno)
                for opened in fds { close(opened) }
                throw error
            }
            fds.append(fd)
        }
        return fds
    }

    /// Moves a running process into every directory of this cgroup (adoption, tests; a spawn
    /// joins before exec through ``openProcsFiles()``).
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
