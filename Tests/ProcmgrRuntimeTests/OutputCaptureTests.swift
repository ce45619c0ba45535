import Glibc
import ProcmgrSupport
@testable import ProcmgrRuntime
import Testing

@Suite("OutputCapture")
struct OutputCaptureTests {
    /// 50,000 lines of 1,000 bytes, five 1,000,000-byte lines, and an unterminated last line.
    static let floodScript = """
    import os
    out = os.fdopen(1, "wb", buffering=1 << 20)
    long = b"y" * 1000000 + b"\\n"
    for i in range(50000):
        out.write(b"L%07d " % i + b"x" * 990 + b"\\n")
        if i % 10000 == 9999:
            out.write(long)
    out.write(b"the-end-without-newline")
    out.flush()
    """

    struct Counters {
        var lines = 0
        var truncated: [CapturedLine] = []
        var last: CapturedLine?
        var outOfOrder = 0
        var nextNumber = 0
    }

    @Test("a 55 MB flood is captured with bounded memory, long lines cut, last line kept", arguments: 0..<3)
    func flood(round: Int) async throws {
        let runtime = TestRuntime.shared
        let process = try await runtime.spawner.spawn(SpawnSpec(arguments: ["python3", "-c", Self.floodScript], environment: baseEnvironment))
        let counters = LockedState(Counters())
        // The runtime keeps a process's recent lines (the API's logs) this way.
        let recent = RecentLines(capacity: 100)
        let clock = ContinuousClock()
        let start = clock.now
        let capture = try runtime.capture.attach(
            name: "flood", stdout: process.stdoutFD, stderr: process.stderrFD,
            configuration: .init(maxLineBytes: 16 * 1024)
        ) { line in
            recent.append(line)
            counters.withLock { counters in
                counters.lines += 1
                counters.last = line
                if line.truncatedBytes > 0 { counters.truncated.append(line) }
                if line.text.hasPrefix("L") {
                    if Int(line.text.dropFirst().prefix(7)) != counters.nextNumber { counters.outOfOrder += 1 }
                    counters.nextNumber += 1
                }
            }
        }

        // While the flood runs, another child's output on the same capture thread still
        // gets through promptly (one read per event: no starvation).
        let other = try await spawnCaptured(["sh", "-c", "echo during-flood"])
        try await other.output.waitFor(line: "during-flood", timeout: .seconds(5))

        #expect(await process.exit.wait(timeout: .seconds(120)) == .exited(code: 0))
        #expect(await capture.waitUntilFinished(timeout: .seconds(60)))
        let elapsed = start.duration(to: clock.now)
        let result = counters.withLock { $0 }
        let expectedBytes = 50_000 * 1000 + 5 * 1_000_001 + "the-end-without-newline".utf8.count
        #expect(capture.stats.bytes == expectedBytes)
        #expect(result.lines == 50_000 + 5 + 1)
        #expect(result.outOfOrder == 0)
        #expect(result.last?.text == "the-end-without-newline")
        #expect(result.last?.truncatedBytes == 0)
        #expect(result.truncated.count == 5)
        #expect(capture.stats.truncatedLines == 5)
        for line in result.truncated {
            #expect(line.truncatedBytes == 1_000_000 - 16 * 1024)
            #expect(line.text == String(repeating: "y", count: 16 * 1024) + " …[truncated \(1_000_000 - 16 * 1024) bytes]")
        }
        let kept = recent.lines
        #expect(kept.count == 100, "ring buffer must hold exactly its capacity")
        #expect(kept.last?.text == "the-end-without-newline")
        #expect(kept.allSatisfy { $0.text.utf8.count <= 16 * 1024 + 64 })
        if round == 0 {
            let megabytes = Double(expectedBytes) / 1_048_576
            print("[measure] flood: \(Int(megabytes)) MB, \(result.lines) lines captured in \(Int(elapsed.milliseconds)) ms (\(Int(megabytes / (elapsed.milliseconds / 1000))) MB/s, debug build)")
        }
    }

    @Test("50 MB without a single newline becomes one truncated line")
    func hugeSingleLine() async throws {
        let result = try await runToCompletion(["sh", "-c", "head -c 52428800 /dev/zero | tr '\\0' x"], timeout: .seconds(120))
        #expect(result.status == .exited(code: 0))
        #expect(result.lines.count == 1)
        #expect(result.lines.first == String(repeating: "x", count: 16 * 1024) + " …[truncated \(52_428_800 - 16 * 1024) bytes]")
    }

    @Test("a cut never splits a UTF-8 character")
    func utf8SafeCut() async throws {
        // 16,383 ASCII bytes, then "é" (2 bytes) straddling the 16,384-byte limit.
        let result = try await runToCompletion(["python3", "-c", "import sys; sys.stdout.write('a' * 16383 + 'é' + 'b' * 10 + '\\nok\\n')"])
        #expect(result.lines.count == 2)
        #expect(result.lines.first == String(repeating: "a", count: 16383) + " …[truncated 12 bytes]")
        #expect(result.lines.last == "ok")
    }

    @Test("stdout and stderr are told apart")
    func streams() async throws {
        let child = try await spawnCaptured(["sh", "-c", "echo out; echo err >&2"])
        #expect(await child.capture.waitUntilFinished(timeout: .seconds(10)))
        let lines = child.output.lines
        #expect(lines.contains(CapturedLine(stream: .stdout, text: "out", truncatedBytes: 0)))
        #expect(lines.contains(CapturedLine(stream: .stderr, text: "err", truncatedBytes: 0)))
    }

    @Test("per-process file rotates by size: file, file.1 … file.K")
    func fileRotation() async throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTree(directory) }
        let path = directory + "/svc.log"
        let runtime = TestRuntime.shared
        let process = try await runtime.spawner.spawn(SpawnSpec(
            arguments: ["python3", "-c", "import sys\nfor i in range(1000): sys.stdout.write('line %04d %s\\n' % (i, 'z' * 89))"],
            environment: baseEnvironment))
        let capture = try runtime.capture.attach(
            name: "rotating", stdout: process.stdoutFD, stderr: process.stderrFD,
            configuration: .init(file: .init(path: path, maxBytes: 20_000, keep: 3))) { _ in }
        #expect(await capture.waitUntilFinished(timeout: .seconds(30)))
        func contents(_ file: String) -> String? {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                data += buffer[0..<n]
            }
            return String(decoding: data, as: UTF8.self)
        }
        let files = [path + ".3", path + ".2", path + ".1", path].map(contents)
        #expect(contents(path + ".4") == nil, "only `keep` rotated files may exist")
        #expect(files.allSatisfy { $0 != nil })
        #expect(files.allSatisfy { ($0?.utf8.count ?? 0) <= 20_000 })
        // Oldest to newest, the kept files are one contiguous tail of the output.
        let lines = files.compactMap { $0 }.joined().split(separator: "\n")
        #expect(lines.last.map(String.init) == "line 0999 " + String(repeating: "z", count: 89))
        let numbers = lines.compactMap { Int($0.dropFirst(5).prefix(4)) }
        #expect(numbers == Array((1000 - numbers.count)..<1000))
        #expect(numbers.count >= 500)
    }

    @Test("one capture thread serves 300 concurrent children")
    func manyChildren() async throws {
        let script = #"i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i+1)); done"#
        let children = try await withThrowingTaskGroup(of: CapturedChild.self) { group in
            for _ in 0..<300 {
                group.addTask { try await spawnCaptured(["sh", "-c", script]) }
            }
            var children: [CapturedChild] = []
            for try await child in group { children.append(child) }
            return children
        }
        for child in children {
            #expect(await child.capture.waitUntilFinished(timeout: .seconds(60)))
            #expect(await child.process.exit.wait(timeout: .seconds(10)) == .exited(code: 0))
            #expect(child.output.texts == (0..<50).map { "line \($0)" })
        }
    }
}
