import Glibc
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit
import Testing

/// A child spawned with an execution context, its output captured.
private func spawnInContext(
    _ arguments: [String],
    identity: ProcessIdentity? = nil,
    resourceLimits: [ResourceLimit] = [],
    cgroupProcsFDs: [Int32] = [],
    cgroupInto: SpawnSpec.CgroupInto? = nil,
    inheritedFDs: [FDMapping] = [],
    environment: [String: String] = baseEnvironment
) async throws -> CapturedChild {
    let runtime = TestRuntime.shared
    var spec = SpawnSpec(
        arguments: arguments, environment: identity?.loginEnvironment(over: environment) ?? environment,
        inheritedFDs: inheritedFDs, identity: identity, resourceLimits: resourceLimits, cgroupProcsFDs: cgroupProcsFDs)
    spec.cgroupInto = cgroupInto
    let process = try await runtime.spawner.spawn(spec)
    let output = LineCollector()
    let capture = try runtime.capture.attach(name: arguments.joined(separator: " "), stdout: process.stdoutFD, stderr: process.stderrFD) { output.append($0) }
    return CapturedChild(process: process, output: output, capture: capture)
}

/// The spawn's error for `spec` (the test fails if the child started).
private func spawnFailure(_ spec: SpawnSpec) async throws -> SpawnError {
    do {
        let started = try await TestRuntime.shared.spawner.spawn(spec)
        _ = await TestRuntime.shared.stopper.stop(started.handle, signal: SIGKILL, grace: .zero)
        throw TestFailure("\(spec.arguments) started although it should not have")
    } catch let error as SpawnError {
        return error
    }
}

private func kill(_ child: CapturedChild) async {
    _ = await TestRuntime.shared.stopper.stop(child.handle, signal: SIGKILL, grace: .zero)
}

/// The whitespace-separated values of the `/proc/PID/status` line `key:`.
private func statusField(_ key: String, of pid: Int32) -> [String] {
    let line = readFile("/proc/\(pid)/status").split(separator: "\n").first { $0.hasPrefix(key + ":") }
    return line.map { $0.dropFirst(key.count + 1).split(whereSeparator: \.isWhitespace).map(String.init) } ?? []
}

private func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Waits until `pid` runs `program` (the exec is done, so `/proc/PID/environ` is the new image's).
private func waitForExec(_ pid: Int32, _ program: String) async throws {
    try await eventually("pid \(pid) runs \(program)") { readLink("/proc/\(pid)/exe") == program }
}

private func environment(of pid: Int32) -> [String: String] {
    var result: [String: String] = [:]
    for entry in readFile("/proc/\(pid)/environ").split(separator: "\u{0}") {
        guard let eq = entry.firstIndex(of: "=") else { continue }
        result[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
    }
    return result
}

/// The `/proc/PID/limits` row starting with `name`: soft and hard as printed.
private func limitRow(_ name: String, of pid: Int32) -> [String] {
    guard let line = readFile("/proc/\(pid)/limits").split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return [] }
    return Array(line.dropFirst(name.count).split(whereSeparator: \.isWhitespace).prefix(2).map(String.init))
}

/// Every thread of this test process (`/proc/self/task`).
private func ownThreadIDs() -> [Int32] {
    guard let dir = opendir("/proc/self/task") else { return [] }
    defer { closedir(dir) }
    var ids: [Int32] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
        if let id = Int32(name) { ids.append(id) }
    }
    return ids
}

/// Children of this test process that have not exec'd: a failed spawn must leave none.
private func unexecutedChildren() -> [Int32] {
    let me = getpid()
    let ownExe = readLink("/proc/self/exe")
    // Guardians are forked children that never exec too (in the sanitizer pass every suite's
    // in-process agent has one): they name themselves.
    return ProcFS.allStats().filter { $0.parentPID == me && $0.command != "procmgr-guard" && readLink("/proc/\($0.pid)/exe") == ownExe }.map(\.pid)
}

/// A fresh cgroup v2 directory under the unified hierarchy; removed by `remove()`.
private struct TemporaryCgroup {
    static let root = "/sys/fs/cgroup/unified"
    let name: String
    var path: String { Self.root + "/" + name }

    init() throws {
        name = "procmgr-spawn-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(Self.root + "/" + name, 0o755) == 0 else { throw TestFailure("mkdir \(Self.root)/\(name): \(ErrnoName.describe(errno))") }
    }

    func openProcs() throws -> Int32 {
        let fd = open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TestFailure("open \(path)/cgroup.procs: \(ErrnoName.describe(errno))") }
        return fd
    }

    func remove() async throws {
        // A killed member leaves the cgroup only once it is reaped; rmdir succeeds after that.
        try await eventually("\(path) removable") { rmdir(path) == 0 || errno == ENOENT }
    }
}

@Suite("Spawn with an execution context (user, rlimits, cgroup)", .timeLimit(.minutes(3)))
struct ExecutionContextSpawnTests {
    @Test("a child runs as nobody: uids, gids, groups and capabilities switched, login environment set, output and an inherited socket work, the agent's threads stay root")
    func runsAsNobody() async throws {
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        defer { close(pair[0]) }
        let child = try await spawnInContext(
            ["sh", "-c", "echo \"id=$(id -u):$(id -g) home=$HOME\"; echo beat >&3; exec sleep 1000"],
            identity: nobody, inheritedFDs: [FDMapping(childFD: 3, parentFD: pair[1])],
            environment: ["PATH": testPATH, "LOGNAME": "from-env"])
        close(pair[1])
        try await child.output.waitFor(line: "id=65534:65534 home=\(nobody.home)")
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = read(pair[0], &buffer, buffer.count)
        #expect(String(decoding: buffer[0..<max(0, n)], as: UTF8.self) == "beat\n", "the inherited socket works for the other user")
        try await waitForExec(child.pid, "/usr/bin/sleep")
        #expect(statusField("Uid", of: child.pid) == ["65534", "65534", "65534", "65534"])
        #expect(statusField("Gid", of: child.pid) == ["65534", "65534", "65534", "65534"])
        #expect(statusField("Groups", of: child.pid) == ["65534"], "root's groups dropped, nobody's set")
        #expect(statusField("CapEff", of: child.pid) == ["0000000000000000"])
        let env = environment(of: child.pid)
        #expect(env["HOME"] == nobody.home && env["USER"] == "nobody")
        #expect(env["LOGNAME"] == "from-env", "a variable the environment sets wins over the login default")
        // The child shares the agent's memory until exec: a glibc setuid would have switched
        // every thread of this process too.
        let taskUIDs = ownThreadIDs().map { statusField("Uid", of: $0) }
        #expect(!taskUIDs.isEmpty && taskUIDs.allSatisfy { $0 == ["0", "0", "0", "0"] }, "\(taskUIDs)")
        #expect(getuid() == 0 && getgid() == 0)
        await kill(child)
    }

    @Test("PDEATHSIG is armed again after the switch (the kernel clears it when the uid changes)")
    func deathSignalSurvivesTheSwitch() async throws {
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        let script = "import ctypes; v = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); print('pdeathsig=%d' % v.value)"
        let child = try await spawnInContext(["/usr/bin/python3", "-c", script], identity: nobody)
        #expect(await child.process.exit.wait(timeout: .seconds(20)) == .exited(code: 0))
        #expect(await child.capture.waitUntilFinished(timeout: .seconds(10)))
        #expect(child.output.texts == ["pdeathsig=\(SIGKILL)"])
    }

    @Test("rlimits are set in the child (nofile 1234, core 0, nproc for the new user)")
    func resourceLimits() async throws {
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        let child = try await spawnInContext(
            ["sleep", "1000"], identity: nobody,
            resourceLimits: [ResourceLimit(.nofile, 1234), ResourceLimit(.core, 0), ResourceLimit(kind: .nproc, soft: 300, hard: 400)])
        try await waitForExec(child.pid, "/usr/bin/sleep")
        #expect(limitRow("Max open files", of: child.pid) == ["1234", "1234"])
        #expect(limitRow("Max core file size", of: child.pid) == ["0", "0"])
        #expect(limitRow("Max processes", of: child.pid) == ["300", "400"])
        await kill(child)
    }

    @Test("the child joins a cgroup before exec, on the shared-table fast path and on the plain path", arguments: [0, 8])
    func joinsCgroup(extraDescriptors: Int) async throws {
        let cgroup = try TemporaryCgroup()
        let procs = try cgroup.openProcs()
        var extras: [FDMapping] = []
        for index in 0..<extraDescriptors {
            extras.append(FDMapping(childFD: Int32(10 + index), parentFD: 2))
        }
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        // The shell's first command reads its own membership: it was a member before it ran.
        let child = try await spawnInContext(
            ["sh", "-c", "grep '^0::' /proc/$$/cgroup; exec sleep 1000"], identity: nobody, cgroupProcsFDs: [procs, procs], inheritedFDs: extras)
        close(procs)
        try await child.output.waitFor(line: "0::/\(cgroup.name)")
        try await waitForExec(child.pid, "/usr/bin/sleep")
        let lines = readFile("/proc/\(child.pid)/cgroup").split(separator: "\n")
        #expect(lines.contains("0::/\(cgroup.name)"), "\(lines)")
        #expect(readFile("/proc/self/cgroup").split(separator: "\n").contains("0::/"), "the agent stays where it was")
        #expect(readFile(cgroup.path + "/cgroup.procs") == "\(child.pid)\n")
        await kill(child)
        try await cgroup.remove()
    }

    @Test("the child is created in its v2 cgroup (clone3): its cgroup.procs entry is not written", arguments: [0, 8])
    func createdInCgroup(extraDescriptors: Int) async throws {
        let cgroup = try TemporaryCgroup()
        let directory = open(cgroup.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(directory >= 0)
        // A write to this one would fail the spawn: only the creation can have placed the child.
        let unwritable = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try #require(unwritable >= 0)
        let extras = (0..<extraDescriptors).map { FDMapping(childFD: Int32(10 + $0), parentFD: 2) }
        let child = try await spawnInContext(
            ["sh", "-c", "grep '^0::' /proc/$$/cgroup; exec sleep 1000"], cgroupProcsFDs: [unwritable],
            cgroupInto: SpawnSpec.CgroupInto(directoryFD: directory, procsIndex: 0), inheritedFDs: extras)
        close(directory)
        close(unwritable)
        try await child.output.waitFor(line: "0::/\(cgroup.name)")
        try await waitForExec(child.pid, "/usr/bin/sleep")
        #expect(readFile(cgroup.path + "/cgroup.procs") == "\(child.pid)\n")
        #expect(readFile("/proc/self/cgroup").split(separator: "\n").contains("0::/"), "the agent stays where it was")
        await kill(child)
        try await cgroup.remove()
    }

    @Test("a directory the kernel will not create a child in: the spawn falls back to writing cgroup.procs")
    func creationRefusedFallsBackToTheWrite() async throws {
        let cgroup = try TemporaryCgroup()
        let procs = try cgroup.openProcs()
        let notACgroup = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(notACgroup >= 0)
        let child = try await spawnInContext(
            ["sh", "-c", "grep '^0::' /proc/$$/cgroup; exec sleep 1000"], cgroupProcsFDs: [procs],
            cgroupInto: SpawnSpec.CgroupInto(directoryFD: notACgroup, procsIndex: 0))
        close(notACgroup)
        close(procs)
        try await child.output.waitFor(line: "0::/\(cgroup.name)")
        #expect(readFile(cgroup.path + "/cgroup.procs") == "\(child.pid)\n")
        await kill(child)
        try await cgroup.remove()
    }

    @Test("a cgroup.procs descriptor that cannot be written fails at the cgroup stage and leaves no child")
    func badCgroupDescriptor() async throws {
        let readOnly = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try #require(readOnly >= 0)
        defer { close(readOnly) }
        let error = try await spawnFailure(SpawnSpec(arguments: ["sleep", "1000"], environment: baseEnvironment, cgroupProcsFDs: [readOnly]))
        #expect(error.code == .cgroupJoin && error.errno == EBADF)
        #expect(error.message.hasPrefix("cannot start 'sleep': cannot join cgroup (/dev/null): Bad file descriptor"), "\(error.message)")
        try await eventually("no child that did not exec") { unexecutedChildren().isEmpty }
    }

    @Test("a failed setgroups, setgid or setuid names its stage and the id", arguments: [
        (ProcessIdentity(uid: 65534, gid: 65534, supplementaryGroups: [UInt32.max], userName: "x", home: "/"), "cannot set supplementary groups [4294967295]: "),
        (ProcessIdentity(uid: 65534, gid: UInt32.max, supplementaryGroups: [], userName: "x", home: "/"), "cannot switch to gid 4294967295: "),
        (ProcessIdentity(uid: UInt32.max, gid: 65534, supplementaryGroups: [], userName: "x", home: "/"), "cannot switch to uid 4294967295: "),
    ])
    func identityStages(identity: ProcessIdentity, expected: String) async throws {
        // (uid_t)-1 and (gid_t)-1 are the kernel's "no id": refused with EINVAL even for root.
        let error = try await spawnFailure(SpawnSpec(arguments: ["sleep", "1000"], environment: baseEnvironment, identity: identity))
        #expect(error.code == .identity && error.errno == EINVAL)
        #expect(error.message.hasPrefix("cannot start 'sleep': " + expected), "\(error.message)")
        try await eventually("no child that did not exec") { unexecutedChildren().isEmpty }
    }

    @Test("an rlimit the kernel refuses names the limit; soft above hard is refused before the spawn")
    func rlimitFailures() async throws {
        let error = try await spawnFailure(SpawnSpec(
            arguments: ["sleep", "1000"], environment: baseEnvironment,
            resourceLimits: [ResourceLimit(.core, 0), ResourceLimit(.nofile, 1 << 30)]))
        #expect(error.code == .resourceLimit && error.errno == EPERM)
        #expect(error.message.hasPrefix("cannot start 'sleep': setrlimit(RLIMIT_NOFILE) failed: Operation not permitted (EPERM) (soft 1073741824, hard 1073741824); raising the hard limit needs root, and it cannot exceed fs.nr_open ("), "\(error.message)")
        let invalid = try await spawnFailure(SpawnSpec(arguments: ["sleep", "1000"], resourceLimits: [ResourceLimit(kind: .stack, soft: 10, hard: 5)]))
        #expect(invalid.message == "cannot start 'sleep': RLIMIT_STACK soft limit 10 is above its hard limit 5")
    }

    @Test("a working directory nobody may not enter fails as that user, with the user named")
    func workingDirectoryAsUser() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        try #require(chmod(directory, 0o700) == 0)
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        let error = try await spawnFailure(SpawnSpec(arguments: ["sleep", "1000"], environment: baseEnvironment, workingDirectory: directory, identity: nobody))
        #expect(error.code == .badWorkingDirectory && error.errno == EACCES)
        #expect(error.message.contains("permission denied entering working directory '\(directory)' as user nobody (uid 65534)"), "\(error.message)")
    }
}

@Suite("ProcessIdentity (user database)")
struct ProcessIdentityTests {
    @Test("names and numbers resolve like login: primary group, initgroups membership, home")
    func resolves() throws {
        let nobody = try ProcessIdentity.resolve(user: "nobody", group: nil)
        #expect(nobody == ProcessIdentity(uid: 65534, gid: 65534, supplementaryGroups: [65534], userName: "nobody", home: "/nonexistent"))
        let byNumber = try ProcessIdentity.resolve(user: "65534", group: "0")
        #expect(byNumber.uid == 65534 && byNumber.gid == 0 && byNumber.userName == "nobody" && byNumber.supplementaryGroups.contains(0))
        let withGroup = try ProcessIdentity.resolve(user: "nobody", group: "root")
        #expect(withGroup.gid == 0)
        let bare = try ProcessIdentity.resolve(user: "54321", group: nil)
        #expect(bare == ProcessIdentity(uid: 54321, gid: 54321, supplementaryGroups: [54321], userName: "54321", home: "/"))
    }

    @Test("an unknown user or group is an error naming it")
    func unknown() {
        #expect(throws: IdentityError.unknownUser("no-such-user-procmgr")) { try ProcessIdentity.resolve(user: "no-such-user-procmgr", group: nil) }
        #expect(throws: IdentityError.unknownGroup("no-such-group-procmgr")) { try ProcessIdentity.resolve(user: "nobody", group: "no-such-group-procmgr") }
        #expect(IdentityError.unknownUser("x").description == "no user \"x\" on this machine")
        #expect(IdentityError.unknownGroup("g").description == "no group \"g\" on this machine")
    }

    @Test("the login environment adds HOME, USER and LOGNAME unless set")
    func loginEnvironment() {
        let identity = ProcessIdentity(uid: 1, gid: 1, supplementaryGroups: [], userName: "daemon", home: "/usr/sbin")
        #expect(identity.loginEnvironment(over: ["PATH": "/bin"]) == ["PATH": "/bin", "HOME": "/usr/sbin", "USER": "daemon", "LOGNAME": "daemon"])
        #expect(identity.loginEnvironment(over: ["HOME": "/srv", "USER": "u"]) == ["HOME": "/srv", "USER": "u", "LOGNAME": "daemon"])
    }
}
