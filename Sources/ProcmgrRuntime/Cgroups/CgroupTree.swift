import Glibc
import Logging

/// The agent's cgroup subtree: one cgroup per managed process, for membership (a stop reaches
/// every descendant, whatever its process group or session), limits and accounting.
///
/// Layout: the unified (v2) hierarchy holds membership whenever it is mounted and writable
/// (`cgroup.kill`, `cgroup.events`, `cpu.stat` usage work there without any controller). Limits
/// use v2 controllers where the agent's cgroup offers them (a pure v2 host), otherwise the v1
/// hierarchies (a hybrid host such as systemd's legacy layout): a v1 directory per process is
/// made only when needed — memory, cpu and pids with a limit of theirs, cpuacct and freezer
/// only without v2. Each subtree sits under the agent's own cgroup
/// of its hierarchy, so whatever contains the agent also contains its children.
///
/// Why no v1 memory cgroup without a memory limit (so on a hybrid host such a process has no
/// cgroup memory figure or OOM count; its memory comes from /proc as before): measured on the
/// loaded 2-core test machine (`creationCost` test), mkdir + rmdir of the v2 cgroup costs
/// 36–63 µs, with a v1 memory cgroup and its limits 117–274 µs, against ~800 µs per process of
/// a whole cold start. A memory cgroup for every process would spend most of the 15 % budget
/// of cgroup + rlimits + user switch on accounting alone.
public final class CgroupTree: Sendable {
    let layout: CgroupLayout
    private let logger: Logger

    init(layout: CgroupLayout, logger: Logger) {
        self.layout = layout
        self.logger = logger
    }

    /// "cgroup v2 at …; v1 memory at …, pids at …" for the log.
    public var summary: String {
        var parts: [String] = []
        if let unified = layout.unified {
            let controllers = layout.unifiedControllers.map(\.rawValue).sorted()
            parts.append("cgroup v2 at \(unified) (controllers: \(controllers.isEmpty ? "none" : controllers.joined(separator: ", ")))")
        }
        let v1 = CgroupController.allCases.compactMap { controller in layout.v1[controller].map { "\(controller.rawValue) at \($0)" } }
        if !v1.isEmpty { parts.append("v1 " + v1.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    /// The v2 directory whose `cgroup.kill` the guardian writes when the agent dies: it kills
    /// every process of every process cgroup at once. nil without v2 (or a kernel before 5.14).
    public var guardianKillPath: String? {
        guard let unified = layout.unified, CgroupFiles.exists(unified + "/cgroup.kill") else { return nil }
        return unified
    }

    /// Creates (or re-uses, for adoption) the cgroup of one process, with its limits applied.
    /// A re-used cgroup gets every limit written again, the absent ones as "unlimited".
    public func makeProcessCgroup(name: String, limits: CgroupLimits) throws(CgroupError) -> ProcessCgroup {
        let cgroup = try processCgroup(name: name, v1Controllers: layout.v1Controllers(for: limits))
        var created: [String] = []
        for directory in cgroup.directories {
            if mkdir(directory, 0o755) == 0 {
                created.append(directory)
            } else if errno != EEXIST {
                let error = CgroupError(operation: "mkdir", path: directory, errno: errno)
                for path in created.reversed() { rmdir(path) }
                throw error
            }
        }
        do {
            try cgroup.apply(limits, fresh: created.count == cgroup.directories.count)
        } catch {
            for path in created.reversed() { rmdir(path) }
            throw error
        }
        return cgroup
    }

    /// Kills the members of and removes every process cgroup in the subtree not in `keeping`
    /// (process names): what a previous agent that died with its guardian left. Returns how
    /// many processes were killed.
    public func sweepLeftovers(keeping: Set<String>) -> Int {
        var directories: Set<String> = []
        for subtree in layout.subtrees { directories.formUnion(CgroupFiles.subdirectories(of: subtree)) }
        var killed = 0
        for directory in directories.sorted() {
            let name = CgroupName.processName(ofDirectory: directory)
            if let name, keeping.contains(name) { continue }
            let leftover = existingCgroup(directory: directory, name: name ?? directory)
            let members = leftover.members()
            killed += members.count
            if !members.isEmpty {
                leftover.killAll()
                _ = leftover.waitUntilEmpty(timeout: .seconds(2))
            }
            if !leftover.remove() {
                logger.warning("cannot remove a leftover process cgroup", metadata: ["cgroup": "\(directory)", "members": "\(leftover.members())"])
            }
        }
        if killed > 0 {
            logger.notice("killed the processes a previous agent left in its cgroups", metadata: ["killed": "\(killed)"])
        }
        return killed
    }

    /// Removes the (empty) subtree at agent exit; a subtree that still has cgroups stays.
    public func removeIfEmpty() {
        for subtree in layout.subtrees.reversed() { rmdir(subtree) }
    }

    /// The cgroup `name` would have, with a v1 directory for each of `v1Controllers`.
    private func processCgroup(name: String, v1Controllers: [CgroupController]) throws(CgroupError) -> ProcessCgroup {
        guard let directory = CgroupName.directory(for: name) else {
            throw CgroupError(operation: "name a process cgroup", path: name, errno: ENAMETOOLONG)
        }
        var v1: [CgroupController: String] = [:]
        for controller in v1Controllers { v1[controller] = layout.v1[controller].map { $0 + "/" + directory } }
        return ProcessCgroup(name: name, layout: layout, directoryName: directory, v1: v1)
    }

    /// A process cgroup of a previous run, in every hierarchy where its directory exists.
    private func existingCgroup(directory: String, name: String) -> ProcessCgroup {
        var v1: [CgroupController: String] = [:]
        for (controller, subtree) in layout.v1 where CgroupFiles.exists(subtree + "/" + directory) {
            v1[controller] = subtree + "/" + directory
        }
        return ProcessCgroup(name: name, layout: layout, directoryName: directory, v1: v1)
    }
}
