import Glibc

/// Where a child's stdout and stderr go in `orphans: adopt` mode: a pair of FIFOs in the state
/// directory, one pair per spawned child, recorded in its ``ChildRecord``.
///
/// Why not pipes: the read end of a pipe dies with the agent, and the child's next write then
/// raises SIGPIPE (or EPIPE) — a restart of the agent would kill or break what adoption exists to
/// keep. Why not a regular file: it cannot be watched with epoll, and it grows without bound.
///
/// The child gets each FIFO opened **read-write**: being a reader itself, its writes never see
/// "no reader", whether or not an agent is there. A new agent reopens the FIFO by path and reads
/// what was buffered meanwhile. The cost: while no agent reads, a child that writes more than the
/// FIFO holds (raised to 1 MiB where allowed) blocks in `write` until the next agent drains it —
/// back-pressure, never a lost line or a dead child. The agent's own end is read-only and
/// non-blocking, so EOF arrives once every writer (the child and its descendants) is gone.
struct AdoptableOutput: Sendable {
    let stdoutPath: String
    let stderrPath: String

    /// Capacity asked for each FIFO: how much a child may write while no agent runs.
    static let capacity: Int32 = 1 << 20
    /// `F_SETPIPE_SZ` (`F_LINUX_SPECIFIC_BASE + 7`), which Glibc's Swift module does not export.
    private static let setPipeSize: Int32 = 1031

    /// Fresh FIFOs for one spawn of `name` (unique per spawn, so a leftover grandchild of an
    /// earlier child never writes into its successor's stream).
    static func create(directory: String, name: String) throws(SystemError) -> AdoptableOutput {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw .current("mkdir(\(directory))") }
        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let output = AdoptableOutput(stdoutPath: "\(directory)/\(name).\(nonce).stdout", stderrPath: "\(directory)/\(name).\(nonce).stderr")
        for path in output.paths where mkfifo(path, 0o600) != 0 {
            let error = SystemError.current("mkfifo(\(path))")
            output.remove()
            throw error
        }
        return output
    }

    var paths: [String] { [stdoutPath, stderrPath] }

    /// The child's ends: read-write and blocking. The caller closes them once the child has them.
    func openForChild() throws(SystemError) -> OutputFDs {
        let stdout = try Self.open(stdoutPath, O_RDWR)
        do {
            let stderr = try Self.open(stderrPath, O_RDWR)
            for fd in [stdout, stderr] { _ = fcntl(fd, Self.setPipeSize, Self.capacity) }
            return OutputFDs(stdout: stdout, stderr: stderr)
        } catch {
            close(stdout)
            throw error
        }
    }

    /// The agent's ends: read-only, non-blocking (never blocks, even with no writer yet), for
    /// ``OutputCapture/attach(name:stdout:stderr:configuration:onLine:)``, which closes them.
    func openForAgent() throws(SystemError) -> (stdout: Int32, stderr: Int32) {
        let stdout = try Self.open(stdoutPath, O_RDONLY | O_NONBLOCK)
        do {
            return (stdout, try Self.open(stderrPath, O_RDONLY | O_NONBLOCK))
        } catch {
            close(stdout)
            throw error
        }
    }

    /// Unlinks the FIFOs (the open ends stay usable); called once the child's group is gone.
    func remove() {
        for path in paths { unlink(path) }
    }

    private static func open(_ path: String, _ flags: Int32) throws(SystemError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw .current("open(\(path))") }
        return fd
    }
}

extension AdoptableOutput {
    /// The FIFOs of one spawn with both ends open. The child's ends are opened first, so the
    /// agent's non-blocking end never sees a FIFO without a writer (which reads as EOF).
    struct Ends {
        let paths: AdoptableOutput
        let child: OutputFDs
        let agent: (stdout: Int32, stderr: Int32)

        static func create(directory: String, name: String) throws(SystemError) -> Ends {
            let paths = try AdoptableOutput.create(directory: directory, name: name)
            do throws(SystemError) {
                let child = try paths.openForChild()
                do throws(SystemError) {
                    return Ends(paths: paths, child: child, agent: try paths.openForAgent())
                } catch {
                    close(child.stdout)
                    close(child.stderr)
                    throw error
                }
            } catch {
                paths.remove()
                throw error
            }
        }

        /// After the spawn: the child has its copies; ours would keep the FIFOs from ever
        /// reaching EOF.
        func closeChildEnds() {
            close(child.stdout)
            close(child.stderr)
        }

        /// The spawn failed: nothing will write or read.
        func discard() {
            close(agent.stdout)
            close(agent.stderr)
            paths.remove()
        }
    }
}

extension ChildRecord {
    /// The FIFOs this child writes to, if it was started for adoption.
    var adoptableOutput: AdoptableOutput? {
        guard let stdoutPath, let stderrPath else { return nil }
        return AdoptableOutput(stdoutPath: stdoutPath, stderrPath: stderrPath)
    }
}
