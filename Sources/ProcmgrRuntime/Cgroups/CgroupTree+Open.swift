import Glibc
public import Logging

extension CgroupTree {
    /// Detects v2 (the unified mount) and the v1 controllers from `/proc/self/mountinfo` and
    /// `/proc/self/cgroup`, and creates the agent's subtree `name` under the agent's own cgroup
    /// in each hierarchy used. Throws ``CgroupUnavailable`` when no hierarchy can be used.
    public static func open(name: String, logger: Logger) throws(CgroupUnavailable) -> CgroupTree {
        try open(
            name: name, logger: logger,
            mountInfo: CgroupFiles.read("/proc/self/mountinfo", limit: 4 << 20) ?? "",
            procSelfCgroup: CgroupFiles.read("/proc/self/cgroup") ?? "",
            euid: geteuid())
    }

    /// The same with the environment injected (tests: a non-root agent, a read-only or missing
    /// cgroupfs).
    static func open(name: String, logger: Logger, mountInfo: String, procSelfCgroup: String, euid: UInt32) throws(CgroupUnavailable) -> CgroupTree {
        guard let directoryName = CgroupName.directory(for: name) else {
            throw CgroupUnavailable(reason: "the subtree name \"\(name)\" is empty or too long")
        }
        let mounts = CgroupMounts.parse(mountInfo: mountInfo, procSelfCgroup: procSelfCgroup)
        guard mounts.unified != nil || !mounts.v1.isEmpty else {
            throw CgroupUnavailable(reason: "no cgroup filesystem is mounted (/proc/self/mountinfo has neither cgroup2 nor a v1 memory, cpu, cpuacct, pids or freezer hierarchy)")
        }
        var layout = CgroupLayout()
        var problems: [String] = []
        /// Cgroups of a non-root agent that are not its own: "<dir> (owned by uid N)".
        var notDelegated: [String] = []

        /// Creates the subtree in one hierarchy, or says why it cannot be used.
        func subtree(in hierarchy: CgroupHierarchy, label: String) -> String? {
            if hierarchy.readOnly {
                problems.append("\(label) at \(hierarchy.mountPoint) is mounted read-only")
                return nil
            }
            if euid != 0 {
                var info = stat()
                guard stat(hierarchy.ownDirectory, &info) == 0 else {
                    problems.append("\(label): cannot read \(hierarchy.ownDirectory): \(ErrnoName.describe(errno))")
                    return nil
                }
                guard info.st_uid == euid else {
                    notDelegated.append("\(hierarchy.ownDirectory) (\(label)) is owned by uid \(info.st_uid)")
                    return nil
                }
            }
            let path = hierarchy.ownDirectory + "/" + directoryName
            if mkdir(path, 0o755) != 0, errno != EEXIST {
                problems.append("cannot create \(path): \(ErrnoName.describe(errno))")
                return nil
            }
            return path
        }

        if let unified = mounts.unified, let path = subtree(in: unified, label: "cgroup v2") {
            layout.unified = path
            layout.unifiedControllers = enableControllers(own: unified.ownDirectory, subtree: path, logger: logger)
        }
        for controller in CgroupController.allCases where !layout.unifiedControllers.contains(controller) {
            let needed = switch controller {
            case .memory, .cpu, .pids: true
            case .cpuacct, .freezer: layout.unified == nil
            }
            guard needed, let hierarchy = mounts.v1[controller] else { continue }
            if let path = subtree(in: hierarchy, label: "cgroup v1 \(controller.rawValue)") {
                layout.v1[controller] = path
            }
        }
        if !notDelegated.isEmpty {
            problems.insert("procmgr runs as uid \(euid), not root, and its cgroups are not delegated to it: " + notDelegated.joined(separator: ", "), at: 0)
        }
        guard layout.unified != nil || layout.v1Membership != nil else {
            let hint = notDelegated.isEmpty ? "" : "; run procmgr as root, or in a cgroup delegated to its user (systemd: Delegate=yes)"
            throw CgroupUnavailable(reason: problems.joined(separator: "; ") + hint)
        }
        for problem in problems {
            logger.warning("cgroup hierarchy not used", metadata: ["reason": "\(problem)"])
        }
        return CgroupTree(layout: layout, logger: logger)
    }

    /// Enables memory, cpu and pids for the process cgroups of a v2 subtree: in the agent's own
    /// cgroup (so the subtree has them) and in the subtree (so its children do). Returns what
    /// worked; a controller that cannot be enabled has no limits, and the reason is logged.
    ///
    /// Why it can fail: the kernel refuses controllers in a non-root cgroup that has processes
    /// of its own ("no internal processes") — the agent's own cgroup holds the agent — and in a
    /// cgroup not delegated to a non-root agent. On a pure-v2 systemd host, run procmgr with
    /// `Delegate=yes` (and in a leaf of that delegated cgroup) to get limits.
    static func enableControllers(own: String, subtree: String, logger: Logger) -> Set<CgroupController> {
        let available = words(CgroupFiles.read(own + "/cgroup.controllers", limit: 4096))
        var enabledInOwn = words(CgroupFiles.read(own + "/cgroup.subtree_control", limit: 4096))
        var enabled: Set<CgroupController> = []
        for controller in [CgroupController.memory, .cpu, .pids] where available.contains(controller.rawValue) {
            if !enabledInOwn.contains(controller.rawValue) {
                let code = CgroupFiles.write("+" + controller.rawValue, to: own + "/cgroup.subtree_control")
                guard code == 0 else {
                    logger.warning(
                        "cgroup v2 controller cannot be enabled: no \(controller.rawValue) limits",
                        metadata: ["cgroup": "\(own)", "error": "\(ErrnoName.describe(code))",
                                   "hint": "EBUSY: the agent's cgroup has processes (run procmgr in a leaf of a delegated cgroup, systemd Delegate=yes)"])
                    continue
                }
                enabledInOwn.insert(controller.rawValue)
            }
            let code = CgroupFiles.write("+" + controller.rawValue, to: subtree + "/cgroup.subtree_control")
            guard code == 0 else {
                logger.warning(
                    "cgroup v2 controller cannot be enabled in the subtree: no \(controller.rawValue) limits",
                    metadata: ["cgroup": "\(subtree)", "error": "\(ErrnoName.describe(code))"])
                continue
            }
            enabled.insert(controller)
        }
        return enabled
    }

    private static func words(_ text: String?) -> Set<String> {
        Set((text ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }
}
