import Glibc
import Logging
@testable import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// A v1-only host, made from this one by hiding the cgroup2 mount from detection: membership
/// lives in the v1 freezer hierarchy and killAll is freeze → SIGKILL each → thaw. Root only.
@Suite("Cgroup v1 only", .serialized, .enabled(if: geteuid() == 0))
struct CgroupV1OnlyTests {
    static func openV1OnlyTree(_ name: String) throws -> CgroupTree {
        let mountInfo = try #require(CgroupFiles.read("/proc/self/mountinfo"))
        let withoutUnified = mountInfo.split(separator: "\n").filter { !$0.contains(" - cgroup2 ") }.joined(separator: "\n")
        return try CgroupTree.open(
            name: "procmgr-test-" + name, logger: Logger(label: "procmgr.test.cgroups"),
            mountInfo: withoutUnified, procSelfCgroup: try #require(CgroupFiles.read("/proc/self/cgroup")), euid: 0)
    }

    @Test("without v2: a stop freezes and kills 200 children and a setsid() grandchild; CPU comes from cpuacct")
    func freezerKill() async throws {
        let tree = try Self.openV1OnlyTree("v1only")
        _ = tree.sweepLeftovers(keeping: [])
        defer {
            _ = tree.sweepLeftovers(keeping: [])
            tree.removeIfEmpty()
        }
        try #require(tree.layout.unified == nil && tree.layout.v1[.freezer] != nil, "this host has no v1 freezer: \(tree.summary)")
        #expect(tree.guardianKillPath == nil)
        let cgroup = try tree.makeProcessCgroup(name: "forker", limits: CgroupLimits())
        #expect(cgroup.membershipDirectory == cgroup.v1[.freezer])
        #expect(cgroup.v1[.cpuacct] != nil)
        let child = try await spawnInCgroup(cgroup, CgroupStopTests.twoHundredChildren)
        let detached = try await CgroupStopTests.waitForTwoHundredChildren(child)
        #expect(cgroup.members().count == 202)
        #expect((cgroup.usage().cpuSeconds ?? 0) > 0)
        let result = await TestRuntime.shared.stopper.stop(child.handle, grace: .milliseconds(300), cgroup: cgroup)
        print("[measure] v1 only: stop of 202 members (freeze → kill → thaw), grace 300 ms: members gone after \(result.elapsed.milliseconds) ms")
        #expect(result.outcome == .killedAfterGrace)
        #expect(result.groupEmpty)
        #expect(cgroup.isEmpty)
        #expect(!isAlive(detached))
        #expect(CgroupFiles.read(cgroup.v1[.freezer].map { $0 + "/freezer.state" } ?? "")?.trimmingWhitespace == "THAWED")
        #expect(cgroup.remove())
    }
}
