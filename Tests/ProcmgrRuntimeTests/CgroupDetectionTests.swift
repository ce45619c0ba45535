import Glibc
import Logging
@testable import ProcmgrRuntime
import Testing

/// Detection from /proc/self/mountinfo and /proc/self/cgroup, and the parsers of cgroup files:
/// pure functions, fed with text.
@Suite("Cgroup detection")
struct CgroupDetectionTests {
    static let hybridMountInfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    static let hybridCgroup = """
        8:pids:/
        6:freezer:/
        4:memory:/process_api/87c7
        2:cpuacct:/
        1:cpu:/
        0::/
        """
    static let logger = Logger(label: "procmgr.test.cgroups")

    @Test("a hybrid host: v2 beside the v1 controllers, the agent's own cgroup per hierarchy")
    func hybrid() {
        let mounts = CgroupMounts.parse(mountInfo: Self.hybridMountInfo, procSelfCgroup: Self.hybridCgroup)
        #expect(mounts.unified == CgroupHierarchy(mountPoint: "/sys/fs/cgroup/unified", readOnly: false, ownDirectory: "/sys/fs/cgroup/unified"))
        #expect(mounts.v1[.memory]?.ownDirectory == "/sys/fs/cgroup/memory/process_api/87c7")
        #expect(mounts.v1[.cpu]?.ownDirectory == "/sys/fs/cgroup/cpu")
        #expect(Set(mounts.v1.keys) == Set(CgroupController.allCases))
    }

    @Test("a pure v2 host in a container: the mount's root is stripped, escapes decoded, co-mounted v1 controllers found")
    func containerAndEscapes() {
        let mounts = CgroupMounts.parse(
            mountInfo: """
                900 800 0:40 /system.slice/app.service /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw
                901 800 0:41 / /mnt/cg\\040v1 rw - cgroup cgroup rw,cpu,cpuacct
                garbage line
                """,
            procSelfCgroup: "0::/system.slice/app.service/agent\n3:cpu,cpuacct:/x\nnot:a\n")
        #expect(mounts.unified == CgroupHierarchy(mountPoint: "/sys/fs/cgroup", readOnly: true, ownDirectory: "/sys/fs/cgroup/agent"))
        #expect(mounts.v1[.cpu]?.ownDirectory == "/mnt/cg v1/x")
        #expect(mounts.v1[.cpuacct]?.ownDirectory == "/mnt/cg v1/x")
        #expect(mounts.v1[.memory] == nil)
    }

    @Test("not root and nothing delegated: unavailable, and the reason says why and what to do")
    func nonRoot() throws {
        let mountInfo = try #require(CgroupFiles.read("/proc/self/mountinfo"))
        let procSelfCgroup = try #require(CgroupFiles.read("/proc/self/cgroup"))
        let error = #expect(throws: CgroupUnavailable.self) {
            _ = try CgroupTree.open(name: "procmgr-test-nonroot", logger: Self.logger, mountInfo: mountInfo, procSelfCgroup: procSelfCgroup, euid: 64000)
        }
        let reason = error?.reason ?? ""
        #expect(reason.hasPrefix("procmgr runs as uid 64000, not root, and its cgroups are not delegated to it: "), "\(reason)")
        if let unified = CgroupMounts.parse(mountInfo: mountInfo, procSelfCgroup: procSelfCgroup).unified {
            #expect(reason.contains("\(unified.ownDirectory) (cgroup v2) is owned by uid 0"), "\(reason)")
        }
        #expect(reason.hasSuffix("run procmgr as root, or in a cgroup delegated to its user (systemd: Delegate=yes)"), "\(reason)")
    }

    @Test("no cgroupfs, or only read-only mounts: unavailable with the reason")
    func missingOrReadOnly() {
        let missing = #expect(throws: CgroupUnavailable.self) {
            _ = try CgroupTree.open(name: "x", logger: Self.logger, mountInfo: "22 1 0:5 / /proc rw - proc proc rw\n", procSelfCgroup: "0::/\n", euid: 0)
        }
        #expect(missing?.reason == "no cgroup filesystem is mounted (/proc/self/mountinfo has neither cgroup2 nor a v1 memory, cpu, cpuacct, pids or freezer hierarchy)")
        let readOnly = #expect(throws: CgroupUnavailable.self) {
            _ = try CgroupTree.open(
                name: "x", logger: Self.logger,
                mountInfo: "41 31 0:38 / /sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw\n", procSelfCgroup: "0::/\n", euid: 0)
        }
        #expect(readOnly?.reason == "cgroup v2 at /sys/fs/cgroup is mounted read-only")
    }

    @Test("process names become directory names that cannot clash with interface files, and back")
    func names() {
        #expect(CgroupName.directory(for: "web-1") == "web-1")
        #expect(CgroupName.directory(for: "memory.max") == "memory%2Emax")
        #expect(CgroupName.directory(for: "a/b c") == "a%2Fb%20c")
        #expect(CgroupName.directory(for: "tasks") == "%74asks")
        #expect(CgroupName.directory(for: "") == nil)
        #expect(CgroupName.directory(for: String(repeating: "/", count: 100)) == nil)
        for name in ["web-1", "memory.max", "a/b c", "tasks", "ünï"] {
            #expect(CgroupName.processName(ofDirectory: CgroupName.directory(for: name) ?? "") == name)
        }
        #expect(CgroupName.processName(ofDirectory: "a.b") == nil)
        #expect(CgroupName.processName(ofDirectory: "%7") == nil)
    }

    @Test("cgroup files: garbage is skipped, never a crash")
    func parsers() {
        let values = CgroupFiles.parseKeyedNumbers("populated 1\nfrozen x\n\n oom_kill 3 \nthree fields here\nusage_usec 18446744073709551616\n")
        #expect(values == ["populated": 1, "oom_kill": 3])
        #expect(CgroupFiles.parsePIDs("12\n\n 13 \nx\n-4\n0\n99999999999\n") == [12, 13])
        #expect(CgroupFiles.read("/nonexistent/cgroup.procs") == nil)
        #expect(CgroupLimits.cpuQuotaMicroseconds(cores: 1.5) == 150_000)
        #expect(CgroupLimits.cpuQuotaMicroseconds(cores: 0.001) == 1000)
    }
}
