/// One mounted cgroup hierarchy and where the agent's own cgroup is in it.
struct CgroupHierarchy: Sendable, Hashable {
    /// Where it is mounted (`/sys/fs/cgroup/unified`, `/sys/fs/cgroup/memory`).
    var mountPoint: String
    /// Mounted read-only (a container's usual view).
    var readOnly: Bool
    /// The agent's own cgroup as a directory (`/sys/fs/cgroup/memory/process_api/87c7…`).
    var ownDirectory: String
}

/// The cgroup hierarchies of this process, from `/proc/self/mountinfo` and `/proc/self/cgroup`.
///
/// Why both files: mountinfo says where each hierarchy is mounted (and from which root: a
/// container's mount may show only its own part), `/proc/self/cgroup` where the agent is inside
/// each one. Nothing is assumed about paths (`/sys/fs/cgroup` may be v2 itself, v1 controllers
/// may share a mount such as `cpu,cpuacct`).
struct CgroupMounts: Sendable, Hashable {
    /// The cgroup2 hierarchy, if mounted and the agent's place in it is visible.
    var unified: CgroupHierarchy?
    /// The v1 hierarchy of each controller procmgr may use.
    var v1: [CgroupController: CgroupHierarchy] = [:]

    static func parse(mountInfo: String, procSelfCgroup: String) -> CgroupMounts {
        var unifiedPath: String?
        var v1Paths: [CgroupController: String] = [:]
        for line in procSelfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[2].hasPrefix("/") else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                unifiedPath = String(fields[2])
                continue
            }
            for name in fields[1].split(separator: ",") {
                if let controller = CgroupController(rawValue: String(name)) { v1Paths[controller] = String(fields[2]) }
            }
        }

        var mounts = CgroupMounts()
        for line in mountInfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 4 else { continue }
            let root = unescape(fields[3])
            let mountPoint = unescape(fields[4])
            let readOnly = fields[5].split(separator: ",").contains("ro")
            let type = fields[dash + 1]
            let superOptions = fields[dash + 3].split(separator: ",")
            if type == "cgroup2" {
                guard mounts.unified == nil, let own = unifiedPath.flatMap({ directory(of: $0, root: root, mountPoint: mountPoint) }) else { continue }
                mounts.unified = CgroupHierarchy(mountPoint: mountPoint, readOnly: readOnly || superOptions.contains("ro"), ownDirectory: own)
            } else if type == "cgroup" {
                for option in superOptions {
                    guard let controller = CgroupController(rawValue: String(option)), mounts.v1[controller] == nil,
                          let own = v1Paths[controller].flatMap({ directory(of: $0, root: root, mountPoint: mountPoint) }) else { continue }
                    mounts.v1[controller] = CgroupHierarchy(mountPoint: mountPoint, readOnly: readOnly || superOptions.contains("ro"), ownDirectory: own)
                }
            }
        }
        return mounts
    }

    /// The directory of cgroup `path` in a mount of the hierarchy's `root` at `mountPoint`; nil
    /// if that mount does not show it.
    static func directory(of path: String, root: String, mountPoint: String) -> String? {
        let relative: Substring
        if root == "/" {
            relative = Substring(path)
        } else if path == root {
            relative = ""
        } else if path.hasPrefix(root + "/") {
            relative = path.dropFirst(root.count)
        } else {
            return nil
        }
        let trimmed = relative.drop(while: { $0 == "/" })
        let base = mountPoint.hasSuffix("/") ? String(mountPoint.dropLast()) : mountPoint
        return trimmed.isEmpty ? base : base + "/" + trimmed
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo`.
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count {
                let digits = source[(index + 1)...(index + 3)]
                if digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                    let value = digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                    if value < 256 {
                        bytes.append(UInt8(value))
                        index += 4
                        continue
                    }
                }
            }
            bytes.append(source[index])
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
