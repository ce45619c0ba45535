import Foundation
import Testing
@testable import ProcmgrConfig
#if canImport(Glibc)
import Glibc
#endif

/// Real files of every kind a config path can name by mistake. Each must give a precise problem,
/// quickly: before the bounded reader, a FIFO blocked the agent for ever and a directory was
/// reported as an `NSCocoaErrorDomain` code.
@Suite("Reading config files")
struct ConfigFileReaderTests {
    /// The problem lines of `ConfigLoader.load(path:)`, with its code.
    private func loadFailure(_ path: String) throws -> (code: ConfigError.Code, lines: [String]) {
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path) }
        return (error.code, error.lines)
    }

    @Test("a FIFO is refused at once, without waiting for a writer")
    func fifo() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/procmgr.yaml"
            try #require(mkfifo(path, 0o600) == 0)
            // First on its own thread, so that a regression blocks that thread and not the suite:
            // after the deadline a writer is opened (which releases a blocked reader) and the
            // test fails. Only then, known not to block, on this thread for the assertions.
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                _ = try? ConfigLoader.load(path: path)
                done.signal()
            }
            if done.wait(timeout: .now() + 10) == .timedOut {
                let writer = open(path, O_WRONLY | O_NONBLOCK)
                if writer >= 0 { close(writer) }
                done.wait()
                Issue.record("reading a FIFO blocked for 10 s")
                return
            }
            let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path) }
            #expect(error.code == .unreadable)
            #expect(error.lines == ["\(path): is a FIFO (named pipe), not a regular file"])
        }
    }

    @Test("a directory is named as one")
    func directory() throws {
        try Support.withTemporaryDirectory { dir in
            let failure = try loadFailure(dir)
            #expect(failure.code == .unreadable)
            #expect(failure.lines == ["\(dir): is a directory, not a regular file"])
        }
    }

    @Test("a device is refused without being read")
    func device() throws {
        // /dev/zero would never end if it were read.
        let failure = try loadFailure("/dev/zero")
        #expect(failure.code == .unreadable)
        #expect(failure.lines == ["/dev/zero: is a character device, not a regular file"])
    }

    @Test("a missing file, and a missing directory on the way to it")
    func missing() throws {
        try Support.withTemporaryDirectory { dir in
            #expect(try loadFailure(dir + "/none.yaml").lines == ["\(dir)/none.yaml: no such file"])
            try Support.write("x: 1", to: dir + "/file")
            #expect(try loadFailure(dir + "/file/c.yaml").lines
                == ["\(dir)/file/c.yaml: cannot be read (a component of the path is not a directory)"])
        }
    }

    @Test("permission denied is said as such")
    func permissionDenied() throws {
        // Write-only even for root (which bypasses the mode bits of ordinary files): the kernel
        // refuses to open it for reading.
        let path = "/proc/sys/vm/compact_memory"
        let failure = try loadFailure(path)
        #expect(failure.code == .unreadable)
        #expect(failure.lines == ["\(path): permission denied"])
    }

    @Test("a 5 MB file is refused by its size, before it is read")
    func fiveMegabytes() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/big.yaml"
            // Valid YAML all the way, so only the size can refuse it.
            let line = "# " + String(repeating: "x", count: 98) + "\n"
            try Support.write(String(repeating: line, count: 50_000) + "processes: []\n", to: path)
            let failure = try loadFailure(path)
            #expect(failure.code == .limit)
            #expect(failure.lines == ["\(path): is 5050014 bytes, over the limit of 4 MiB"])
        }
    }

    @Test("a 200 MB sparse file is refused from its size alone, in no time")
    func sparseHugeFile() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/huge.yaml"
            let descriptor = open(path, O_WRONLY | O_CREAT, 0o600)
            try #require(descriptor >= 0)
            try #require(ftruncate(descriptor, 200_000_000) == 0)
            close(descriptor)
            let start = ContinuousClock.now
            let lines = try loadFailure(path).lines
            let elapsed = ContinuousClock.now - start
            #expect(lines == ["\(path): is 200000000 bytes, over the limit of 4 MiB"])
            #expect(elapsed < .seconds(1))
        }
    }

    @Test("a file of exactly 4 MiB is read whole")
    func atTheLimit() throws {
        try Support.withTemporaryDirectory { dir in
            let path = dir + "/limit.yaml"
            let body = "processes: []\n"
            let padding = String(repeating: "#", count: (4 << 20) - body.utf8.count - 1) + "\n"
            try Support.write(padding + body, to: path)
            let data = try ConfigFileReader.read(path: path)
            #expect(data.count == 4 << 20)
            #expect(try ConfigLoader.load(path: path).processes.isEmpty)
        }
    }

    @Test("the limit is the caller's: a small one refuses, the largest possible one reads")
    func callerLimit() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write("0123456789", to: dir + "/token")
            #expect(throws: ConfigFileReader.Failure.tooLarge(size: 10, limit: 9)) {
                try ConfigFileReader.read(path: dir + "/token", limit: 9)
            }
            #expect(try ConfigFileReader.read(path: dir + "/token", limit: 10).count == 10)
            #expect(try ConfigFileReader.read(path: dir + "/token", limit: .max).count == 10)
            try Support.write("", to: dir + "/empty")
            #expect(try ConfigFileReader.read(path: dir + "/empty", limit: 0).isEmpty)
        }
    }

    @Test("a symbolic link to a regular file is followed")
    func symlink() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(Support.process(), to: dir + "/real.yaml")
            try #require(Glibc.symlink(dir + "/real.yaml", dir + "/link.yaml") == 0)
            #expect(try ConfigLoader.load(path: dir + "/link.yaml").processes.map(\.id) == ["p"])
        }
    }
}
