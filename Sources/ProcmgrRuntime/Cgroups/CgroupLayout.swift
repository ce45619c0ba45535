/// Which hierarchies the agent's subtree uses, decided once by ``CgroupTree/open(name:logger:)``.
struct CgroupLayout: Sendable, Hashable {
    /// The subtree in the unified (v2) hierarchy: membership, `cgroup.kill`, CPU usage.
    var unified: String?
    /// v2 controllers enabled for the process cgroups (a pure v2 host; none on a hybrid one).
    var unifiedControllers: Set<CgroupController> = []
    /// The subtree in each v1 hierarchy used, for what v2 lacks.
    var v1: [CgroupController: String] = [:]

    /// The v1 hierarchy that holds membership when there is no v2 (freezer first: it is also
    /// how the members are killed).
    var v1Membership: CgroupController? {
        guard unified == nil else { return nil }
        return [.freezer, .pids, .memory, .cpuacct, .cpu].first { v1[$0] != nil }
    }

    /// The v1 controllers a process cgroup with `limits` needs a directory in.
    func v1Controllers(for limits: CgroupLimits) -> [CgroupController] {
        CgroupController.allCases.filter { controller in
            guard v1[controller] != nil else { return false }
            if controller == v1Membership { return true }
            switch controller {
            case .memory: return limits.memoryBytes != nil
            case .cpu: return limits.cpuCores != nil
            case .pids: return limits.pids != nil
            case .cpuacct, .freezer: return unified == nil
            }
        }
    }

    /// Every subtree directory, each once (v1 controllers may share a mount).
    var subtrees: [String] {
        var seen: Set<String> = []
        return ([unified].compactMap { $0 } + CgroupController.allCases.compactMap { v1[$0] }).filter { seen.insert($0).inserted }
    }
}
