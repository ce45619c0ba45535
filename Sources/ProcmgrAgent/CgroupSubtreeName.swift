import ProcmgrSupport

/// The name of an agent's cgroup subtree: `procmgr-<state dir name>-<hash of its path>`.
///
/// Why from the state directory: one state directory is one agent (``StateDirectoryLock``), and
/// the name must be the same for the next agent on it — that one sweeps what a dead agent left
/// in its cgroups, or (`orphans: adopt`) finds its children's cgroups again — while two agents
/// with different state directories must never share a subtree.
enum CgroupSubtreeName {
    static func forStateDirectory(_ path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? "root"
        let readable = String(base.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }.prefix(40))
        return "procmgr-\(readable.isEmpty ? "agent" : readable)-\(StableHash.fnv1a64Hex(path))"
    }
}
