import Glibc
import ProcmgrRuntime
import Synchronization
import Testing

@Suite("Process tree resources and /proc parsing")
struct ResourceTests {
    @Test("CPU seconds and RSS are summed over the whole group")
    func groupUsage() async throws {
        // The leader burns ~0.3 s of CPU and holds 64 MiB; a helper in the group holds 32 MiB.
        let script = """
        import os, subprocess, time, sys
        helper = subprocess.Popen([sys.executable, "-c", "b = bytearray(32 << 20)\\nfor i in range(0, len(b), 4096): b[i] = 1\\nprint('helper-ready', flush=True)\\nimport time\\ntime.sleep(600)"])
        block = bytearray(64 << 20)
        for i in range(0, len(block), 4096): block[i] = 1
        start = time.process_time()
        while time.process_time() - start < 0.3: pass
        print("burned", flush=True)
        helper.wait()
        """
        let child = try await spawnCaptured(["python3", "-c", script])
        try await child.output.waitFor(line: "burned", timeout: .seconds(30))
        try await child.output.waitFor(line: "helper-ready", timeout: .seconds(30))
        let usage = ProcessTreeResources.sample(pgid: child.pgid, roots: [child.pid])
        print("[measure] group usage: \(usage.processCount) processes, \(usage.cpuSeconds) s CPU, \(usage.rssBytes >> 20) MiB RSS")
        #expect(usage.processCount == 2)
        #expect(usage.cpuSeconds >= 0.25)
        #expect(usage.rssBytes >= 96 << 20)
        #expect(ProcessTreeResources.sample(pgid: 999_999, roots: [child.pid]).processCount == 0, "not in that group")
        _ = await TestRuntime.shared.stopper.stop(child.handle, grace: .seconds(5))
        #expect(ProcessTreeResources.sample(pgid: child.pgid, roots: [child.pid]).processCount == 0)
    }

    @Test("/proc/PID/stat parsing survives spaces and parentheses in the command name")
    func statParsing() throws {
        let line = "4242 (my (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 987654 10000000 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let stat = try #require(ProcStat.parse(ArraySlice(Array(line.utf8))))
        #expect(stat.pid == 4242)
        #expect(stat.command == "my (weird) name")
        #expect(stat.state == "S")
        #expect(stat.parentPID == 1)
        #expect(stat.processGroup == 4242)
        #expect(stat.userTicks == 250 && stat.systemTicks == 50)
        #expect(stat.childrenUserTicks == 7 && stat.childrenSystemTicks == 3)
        #expect(stat.startTime == 987654)
        #expect(stat.threadCount == 1)
        #expect(stat.residentPages == 2560)
        #expect(ProcStat.parse(ArraySlice(Array("garbage".utf8))) == nil)
        #expect(ProcStat.parse(ArraySlice(Array("4242 (short) S 1 4242 4242 0 -1\n".utf8))) == nil, "fewer than 24 fields")
        let me = try #require(ProcStat.read(pid: getpid()))
        #expect(me.pid == getpid() && me.startTime > 0)
        #expect(me.parentPID == getppid() && me.processGroup == getpgrp() && me.session == getsid(0))
        #expect("RSDIZTtWXP".contains(me.state), "a state letter of proc(5): \(me.state)")
    }

    @Test("capturing 200 MB of output does not grow the agent's memory")
    func boundedMemory() async throws {
        // Measured in a process of its own (the test host): this test process's RSS is shared
        // with every suite running in parallel.
        let host = try await spawnCaptured([try testHostPath(), "capture-flood", "200"])
        let line = try await host.output.waitFor("the flood report", timeout: .seconds(300)) { $0.text.hasPrefix("FLOOD ") }
        let fields = line.text.split(separator: " ").dropFirst().compactMap { Int($0) }
        try #require(fields.count == 3, "bad report: \(line.text)")
        #expect(fields[0] == 2_097_153, "one giant line + 209,715,200 / 100 lines")
        #expect(fields[1] == 419_430_401)
        print("[measure] capturing 400 MB grew the host's peak RSS by \(fields[2] / 1024) MiB")
        #expect(fields[2] < 100 * 1024, "memory grew by \(fields[2] / 1024) MiB while capturing")
        #expect(await host.process.exit.wait(timeout: .seconds(30)) == .exited(code: 0))
    }

}
