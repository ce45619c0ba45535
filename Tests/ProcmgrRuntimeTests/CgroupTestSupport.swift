import Glibc
import Logging
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// A cgroup subtree of its own for one test: leftovers of a crashed earlier run (same name)
/// are swept first, and everything is removed at the end.
func withTestCgroupTree(_ name: String, _ body: (CgroupTree) async throws -> Void) async throws {
    let tree = try CgroupTree.open(name: "procmgr-test-" + name, logger: Logger(label: "procmgr.test.cgroups"))
    _ = tree.sweepLeftovers(keeping: [])
    do {
        try await body(tree)
    } catch {
        _ = tree.sweepLeftovers(keeping: [])
        tree.removeIfEmpty()
        throw error
    }
    let left = tree.sweepLeftovers(keeping: [])
    tree.removeIfEmpty()
    #expect(left == 0, "processes left in the test's cgroups")
}

/// A FIFO a child blocks on (`read x < "$GATE"`, `open(os.environ["GATE"]).read()`) until the
/// test has moved it into its cgroup: nothing of the program runs outside the cgroup.
struct StartGate {
    let directory: String
    var path: String { directory + "/gate" }
    var environment: [String: String] { baseEnvironment.merging(["GATE": path]) { _, new in new } }

    init() throws {
        directory = try makeTemporaryDirectory()
        guard mkfifo(directory + "/gate", 0o600) == 0 else { throw TestFailure("mkfifo failed") }
    }

    /// Lets the child go once it waits on the FIFO (opening for writing without a reader fails
    /// with ENXIO: polled).
    func open() async throws {
        var fd: Int32 = -1
        try await eventually("the child opened its start gate") {
            fd = Glibc.open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return fd >= 0
        }
        _ = write(fd, "go\n", 3)
        close(fd)
    }

    func remove() {
        unlink(path)
        removeTree(directory)
    }
}

/// Spawns `arguments` (which wait on the gate first), moves the child into `cgroup`, opens the
/// gate.
func spawnInCgroup(_ cgroup: ProcessCgroup, _ arguments: [String]) async throws -> CapturedChild {
    let gate = try StartGate()
    defer { gate.remove() }
    let child = try await spawnCaptured(arguments, environment: gate.environment)
    try cgroup.attach(pid: child.pid)
    try await gate.open()
    return child
}

/// The pids of "LABEL pid…" lines.
func pids(after label: String, in lines: [String]) -> [Int32] {
    lines.filter { $0.hasPrefix(label + " ") }.flatMap { $0.split(separator: " ").dropFirst().compactMap { Int32($0) } }
}
