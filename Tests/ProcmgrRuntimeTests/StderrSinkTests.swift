import Glibc
import ProcmgrSupport
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

@Suite("StderrSink: every child's stderr on one socket of the agent")
struct StderrSinkTests {
    static func spec(_ script: String) -> SpawnSpec {
        var spec = SpawnSpec(arguments: ["sh", "-c", script], environment: baseEnvironment)
        spec.stderrThroughSink = true
        return spec
    }

    /// Attaches and collects every line until the capture ends.
    static func collect(_ process: SpawnedProcess) async throws -> [CapturedLine] {
        let lines = LockedState<[CapturedLine]>([])
        let capture = try TestRuntime.shared.capture.attach(
            name: "sink-test", stdout: process.stdoutFD, stderr: process.stderrFD, stderrRoute: process.stderrRoute
        ) { line in lines.withLock { $0.append(line) } }
        #expect(await capture.waitUntilFinished(timeout: .seconds(30)), "the capture ended after the child")
        return lines.withLock { $0 }
    }

    @Test("stderr arrives through the sink, told apart from stdout, in order; the agent holds no stderr descriptor")
    func separatesStreams() async throws {
        let process = try await TestRuntime.shared.spawner.spawn(Self.spec("""
        for i in 1 2 3 4 5; do echo "out $i"; echo "err $i" >&2; done
        printf 'no newline at the end' >&2
        """))
        #expect(process.stderrFD == nil)
        #expect(process.stderrRoute != nil)
        let lines = try await Self.collect(process)
        #expect(lines.filter { $0.stream == .stdout }.map(\.text) == (1...5).map { "out \($0)" })
        #expect(lines.filter { $0.stream == .stderr }.map(\.text) == (1...5).map { "err \($0)" } + ["no newline at the end"])
        #expect(await process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
    }

    @Test("what a child writes before the capture attaches is kept; a 100 KB single write arrives whole", arguments: 0..<3)
    func keptUntilAttached(round: Int) async throws {
        let process = try await TestRuntime.shared.spawner.spawn(Self.spec("""
        echo early >&2
        python3 -c 'import os; os.write(2, b"x" * 100000 + b"\\n")'

        echo late >&2
        """))
        // The child is gone (and its stderr queued in the sink) before anyone listens.
        #expect(await process.exit.wait(timeout: .seconds(30)) == .exited(code: 0))
        let stderr = try await Self.collect(process).filter { $0.stream == .stderr }
        #expect(stderr.count == 3, "\(stderr.map { $0.text.prefix(20) })")
        #expect(stderr.first?.text == "early" && stderr.last?.text == "late")
        let long = try #require(stderr.dropFirst().first)
        let kept = long.text.utf8.count - LineSplitter.marker(droppedBytes: long.truncatedBytes).utf8.count
        #expect(long.text.hasPrefix("xxxx") && kept + long.truncatedBytes == 100_000, "the single write arrived whole: \(kept) + \(long.truncatedBytes)")
    }

    @Test("200 children at once: each one's stderr reaches its own capture")
    func manyChildren() async throws {
        try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let process = try await TestRuntime.shared.spawner.spawn(Self.spec("echo child-\(index)-a >&2; echo child-\(index)-b >&2"))
                    return (index, try await Self.collect(process).filter { $0.stream == .stderr }.map(\.text))
                }
            }
            for try await (index, lines) in group {
                #expect(lines == ["child-\(index)-a", "child-\(index)-b"], "child \(index): \(lines)")
            }
        }
    }

    @Test("a datagram from a name the sink does not know is dropped and counted")
    func strangerDropped() async throws {
        let sink = try #require(TestRuntime.shared.spawner.stderrSink)
        let before = sink.droppedDatagrams
        let (fd, route) = try sink.makeChildEnd()
        sink.detach(route)
        #expect(write(fd, "hello\n", 6) == 6)
        close(fd)
        try await eventually("the stranger's datagram was counted") { sink.droppedDatagrams > before }
    }
}
