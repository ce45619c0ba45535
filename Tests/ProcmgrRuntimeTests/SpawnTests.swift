import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

@Suite("Spawn")
struct SpawnTests {
    @Test("argv, environment and working directory reach the child")
    func honoursArgumentsEnvironmentAndDirectory() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let script = #"printf 'arg1=%s\n' "$1"; printf 'arg2=%s\n' "$2"; echo "cwd=$(pwd)"; echo "greeting=$GREETING"; echo "unset=${HOME-none}"; echo "pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$"; echo "stdin=$(cat)"; ls /proc/self/fd | tr '\n' ' '; echo"#
        let result = try await runToCompletion(
            ["sh", "-c", script, "sh", "hello world", "*; $(rm -rf /)"],
            environment: ["PATH": testPATH, "GREETING": "héllo ünïcode"],
            workingDirectory: directory
        )
        #expect(result.status == .exited(code: 0))
        #expect(result.lines.contains("arg1=hello world"))
        #expect(result.lines.contains("arg2=*; $(rm -rf /)"))
        #expect(result.lines.contains("cwd=\(directory)"))
        #expect(result.lines.contains("greeting=héllo ünïcode"))
        #expect(result.lines.contains("unset=none"), "environment must be exactly the given one")
        #expect(result.lines.contains("stdin="), "stdin must be /dev/null")
        let pgidLine = try #require(result.lines.first { $0.hasPrefix("pgid=") })
        let parts = pgidLine.split(separator: " ")
        #expect(parts[0].dropFirst(5) == parts[1].dropFirst(4), "child must lead its own process group: \(pgidLine)")
        // Only 0, 1, 2 (+ the fd `ls` opens for /proc/self/fd) may be open in the child.
        let fdLine = try #require(result.lines.last)
        let fds = fdLine.split(separator: " ").compactMap { Int($0) }
        #expect(fds.filter { $0 > 3 }.isEmpty, "leaked descriptors into the child: \(fdLine)")
    }

    @Test("exit codes and signals are reported")
    func exitStatuses() async throws {
        #expect(try await runToCompletion(["sh", "-c", "exit 7"]).status == .exited(code: 7))
        #expect(try await runToCompletion(["sh", "-c", "kill -USR1 $$"]).status == .signaled(signal: SIGUSR1, coreDumped: false))
        #expect(try await runToCompletion(["true"]).status == .exited(code: 0))
    }

    @Test("inherited descriptors land on the requested numbers")
    func inheritedDescriptors() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let child = try await spawnCaptured(["sh", "-c", "echo via-fd-5 >&5; echo done"], inheritedFDs: [FDMapping(childFD: 5, parentFD: fds[1])])
        close(fds[1])
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &buffer, 64)
        #expect(String(decoding: buffer[0..<max(0, n)], as: UTF8.self) == "via-fd-5\n")
    }

    @Test("a crowded agent's descriptors stay out of the child, and the agent's stdio stays its own")
    func crowdedDescriptorTable() async throws {
        // Thousands of descriptors, some deliberately without CLOEXEC, opened after the spawn
        // slots were reserved: the shared-table fast path must neither copy nor leak them.
        var crowd: [Int32] = []
        defer { for fd in crowd { close(fd) } }
        for index in 0..<2000 {
            let fd = open("/dev/null", index.isMultiple(of: 2) ? O_RDONLY : O_RDONLY | O_CLOEXEC)
            try #require(fd >= 0)
            crowd.append(fd)
        }
        func identity(_ fd: Int32) -> (UInt, UInt)? {
            var info = stat()
            return fstat(fd, &info) == 0 ? (UInt(info.st_dev), UInt(info.st_ino)) : nil
        }
        let stdioBefore = (0...2).map { identity($0).map { "\($0)" } ?? "closed" }
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        // The source sits far above the reserved slots, as a heartbeat socket does in an agent.
        let source = fcntl(fds[1], F_DUPFD_CLOEXEC, 3000)
        close(fds[1])
        try #require(source >= 3000)
        let child = try await spawnCaptured(
            ["sh", "-c", "echo via-fd-3 >&3; ls /proc/self/fd | tr '\\n' ' '; echo"],
            inheritedFDs: [FDMapping(childFD: 3, parentFD: source)])
        close(source)
        #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
        #expect(await child.capture.waitUntilFinished(timeout: .seconds(10)))
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fds[0], &buffer, 64)
        #expect(String(decoding: buffer[0..<max(0, n)], as: UTF8.self) == "via-fd-3\n")
        // 0-3 plus the one `ls` opens for /proc/self/fd.
        let fdLine = try #require(child.output.texts.last)
        let open = fdLine.split(separator: " ").compactMap { Int($0) }
        #expect(open.filter { $0 > 4 }.isEmpty, "leaked descriptors into the child: \(fdLine)")
        #expect((0...2).map { identity($0).map { "\($0)" } ?? "closed" } == stdioBefore, "the child rewired the agent's own stdio")
    }

    @Test("a missing executable is reported as executableNotFound")
    func missingExecutable() async throws {
        let spawner = TestRuntime.shared.spawner
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: ["definitely-not-a-program-xyz"], environment: baseEnvironment))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .executableNotFound && error.message.contains("PATH=\(testPATH)")
        }
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: ["/nonexistent/bin/server"], environment: baseEnvironment))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .executableNotFound && error.errno == ENOENT && error.message.contains("/nonexistent/bin/server")
        }
    }

    @Test("a non-executable file is reported as permissionDenied")
    func permissionDenied() async throws {
        let spawner = TestRuntime.shared.spawner
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let script = directory + "/server.sh"
        let fd = open(script, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        _ = write(fd, "#!/bin/sh\necho hi\n", 19)
        close(fd)
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: [script], environment: baseEnvironment))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .permissionDenied && error.errno == EACCES && error.message.contains("chmod +x")
        }
        // Through PATH: found but not executable.
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: ["server.sh"], environment: ["PATH": directory]))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .permissionDenied && error.message.contains(script)
        }
        // A missing #! interpreter is "not found", naming the interpreter hint.
        let broken = directory + "/broken.sh"
        let brokenFD = open(broken, O_WRONLY | O_CREAT | O_CLOEXEC, 0o755)
        _ = write(brokenFD, "#!/nonexistent/interp\n", 22)
        close(brokenFD)
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: [broken], environment: baseEnvironment))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .executableNotFound && error.message.contains("interpreter")
        }
    }

    @Test("a bad working directory is reported precisely")
    func badWorkingDirectory() async throws {
        let spawner = TestRuntime.shared.spawner
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: ["true"], environment: baseEnvironment, workingDirectory: "/nonexistent/dir"))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .badWorkingDirectory && error.errno == ENOENT && error.message.contains("'/nonexistent/dir' does not exist")
        }
        await #expect {
            _ = try await spawner.spawn(SpawnSpec(arguments: ["true"], environment: baseEnvironment, workingDirectory: "/etc/hostname"))
        } throws: { error in
            guard let error = error as? SpawnError else { return false }
            return error.code == .badWorkingDirectory && error.errno == ENOTDIR && error.message.contains("not a directory")
        }
    }

    @Test("invalid specs are rejected before anything starts")
    func invalidSpecs() async throws {
        let spawner = TestRuntime.shared.spawner
        await #expect(throws: SpawnError.self) { _ = try await spawner.spawn(SpawnSpec(arguments: [])) }
        await #expect(throws: SpawnError.self) {
            _ = try await spawner.spawn(SpawnSpec(arguments: ["true"], inheritedFDs: [FDMapping(childFD: 1, parentFD: 0)]))
        }
    }

    @Test("the failed-spawn path leaves no child behind")
    func failedSpawnLeavesNoZombie() async throws {
        let spawner = TestRuntime.shared.spawner
        for _ in 0..<20 {
            await #expect(throws: SpawnError.self) {
                _ = try await spawner.spawn(SpawnSpec(arguments: ["true"], environment: baseEnvironment, workingDirectory: "/nonexistent"))
            }
        }
        try await eventually("no zombie children remain") { ourZombies().isEmpty }
    }
}
