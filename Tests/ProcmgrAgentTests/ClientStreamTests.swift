import Foundation
import Glibc
import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The streaming client verbs end to end: `procmgr logs -f` delivers every line of a burst in
/// order, `procmgr events` shows a restart (as text and as JSON, filtered by process), and a
/// stream whose agent is gone ends with exit 3 after its bounded reconnections.
@Suite(.timeLimit(.minutes(3)))
struct ClientStreamTests {
    /// Lines in the burst: below the follower buffer (8,192 lines), so none may be lost however
    /// slowly this debug-built client reads.
    static let burst = 5_000

    @Test("logs -f: the tail, then every line of a 5,000-line burst, in order, none lost")
    func followLogs() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gate = directory + "/go"
        try #require(mkfifo(gate, 0o600) == 0)
        let agent = try await Self.startAgent(in: directory, running: "counter", script: "echo ready; read go < \(gate); seq 1 \(Self.burst); exec sleep 600")
        defer { Task { await agent.kill() } }
        let follow = try await Self.follow("counter", of: agent)
        defer { Task { await follow.kill() } }
        try Self.open(gate)
        let expected = ["ready"] + (1...Self.burst).map(String.init)
        try await eventually("\(Self.burst) lines; got \(follow.stdout.count), last \(follow.stdout.suffix(3)); stderr: \(follow.stderr)",
                             timeout: .seconds(60)) { follow.stdout.count >= expected.count }
        #expect(follow.stdout == expected)
        #expect(follow.stderr.isEmpty, "\(follow.stderr)")
    }

    @Test("events: a restart shows up as a line and as JSON; --process filters")
    func events() async throws {
        let (agent, directory) = try await Self.startAgent()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        try await agent.waitForProcesses("all running") { runningPIDs($0).count == 3 }

        let text = try await ClientCommand(["events", "--agent", agent.baseURL])
        let json = try await ClientCommand(["events", "--json", "--process", "solo", "--agent", agent.baseURL])
        defer { Task { await text.kill(); await json.kill() } }
        try await eventually("both event clients connected", timeout: .seconds(30)) {
            try await agent.metric(#"procmgr_http_streams{stream="events"}"#) == 2
        }
        #expect(try await ClientCommand.run(["restart", "web.0", "--agent", agent.baseURL]).status == .exited(code: 0))
        #expect(try await ClientCommand.run(["restart", "solo", "--agent", agent.baseURL]).status == .exited(code: 0))

        try await eventually("solo's restart in procmgr events; got \(text.stdout)", timeout: .seconds(20)) {
            text.stdout.contains { Self.columns($0).starts(with: ["restart", "solo"]) }
        }
        #expect(text.stdout.contains { Self.columns($0).starts(with: ["restart", "web.0"]) }, "\(text.stdout)")
        try await eventually("solo's restart in procmgr events --json; got \(json.stdout)", timeout: .seconds(20)) {
            try json.stdout.contains { try Self.object($0)["type"] as? String == "restart" }
        }
        // Events are delivered in order: web.0's restart came first, and the filter kept it out.
        for line in json.stdout {
            let event = try Self.object(line)
            #expect(event["process"] as? String == "solo", "\(line)")
            #expect(event["id"] is Int, "\(line)")
        }
    }

    @Test("signal: the program's trap runs; a bad name is a usage error, an unknown id 4")
    func signal() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let agent = try await Self.startAgent(in: directory, running: "trapper", script: "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 600 & wait $!; done")
        defer { Task { await agent.kill() } }
        let follow = try await Self.follow("trapper", of: agent)
        defer { Task { await follow.kill() } }

        let sent = try await ClientCommand.run(["signal", "trapper", "sigusr1", "--agent", agent.baseURL])
        #expect(sent.status == .exited(code: 0), "\(sent)")
        try await eventually("the trap's line; got \(follow.stdout)", timeout: .seconds(20)) { follow.stdout.contains("got-usr1") }
        let byOption = try await ClientCommand.run(["signal", "trapper", "--name", "USR1", "--agent", agent.baseURL])
        #expect(byOption.status == .exited(code: 0), "\(byOption)")
        try await eventually("the trap's second line; got \(follow.stdout)", timeout: .seconds(20)) {
            follow.stdout.filter { $0 == "got-usr1" }.count == 2
        }

        let bogus = try await ClientCommand.run(["signal", "trapper", "BOGUS", "--agent", agent.baseURL])
        #expect(bogus.status == .exited(code: 2), "\(bogus)")
        #expect(bogus.stderr.first == #"Error: "BOGUS" is not a signal procmgr sends; use one of HUP, INT, QUIT, USR1, USR2, TERM, KILL, WINCH, CONT, STOP, ALRM (SIG prefix and case optional)"#, "\(bogus)")
        let unknown = try await ClientCommand.run(["signal", "nope", "HUP", "--agent", agent.baseURL])
        #expect(unknown.status == .exited(code: 4), "\(unknown)")
    }

    @Test("the agent goes away under a followed stream: warnings, bounded reconnections, exit 3")
    func agentGone() async throws {
        let (agent, directory) = try await Self.startAgent()
        defer { Task { await agent.kill(); try? FileManager.default.removeItem(atPath: directory) } }
        let events = try await ClientCommand(["events", "--agent", agent.baseURL])
        defer { Task { await events.kill() } }
        try await eventually("the event client connected", timeout: .seconds(30)) {
            try await agent.metric(#"procmgr_http_streams{stream="events"}"#) == 1
        }
        agent.signal(SIGTERM)
        _ = try await agent.waitForExit()
        let outcome = try await events.finish(timeout: .seconds(60))
        #expect(outcome.status == .exited(code: 3), "\(outcome)")
        #expect(outcome.stderr.filter { $0.contains("reconnecting in") }.count == 5, "\(outcome)")
        #expect(outcome.stderr.last?.hasPrefix("procmgr: lost the event stream of the agent at \(agent.baseURL)") == true, "\(outcome)")
    }

    /// An agent running ``ClientCommandTests/config(directory:extraAgent:solo:)``.
    private static func startAgent() async throws -> (AgentProcess, String) {
        let directory = try makeTemporaryDirectory()
        let file = directory + "/procmgr.yaml"
        try ClientCommandTests.config(directory: directory).write(toFile: file, atomically: true, encoding: .utf8)
        return (try await AgentProcess.start(["--config", file]), directory)
    }

    /// An agent running one process, `id`, a `sh -c` script that prints `ready` first.
    private static func startAgent(in directory: String, running id: String, script: String) async throws -> AgentProcess {
        let file = directory + "/procmgr.yaml"
        let command = try String(decoding: JSONSerialization.data(withJSONObject: ["sh", "-c", script], options: [.withoutEscapingSlashes]), as: UTF8.self)
        try """
        agent:
          state_dir: \(directory)/state
          ports: { range: "32700-32799" }
        processes:
          - id: \(id)
            command: \(command)

        """.write(toFile: file, atomically: true, encoding: .utf8)
        return try await AgentProcess.start(["--config", file])
    }

    /// `procmgr logs -f ID`, once its tail (the `ready` line) arrived: it is following.
    private static func follow(_ id: String, of agent: AgentProcess) async throws -> ClientCommand {
        let follow = try await ClientCommand(["logs", "-f", id, "--agent", agent.baseURL])
        do {
            try await eventually("\(id)'s ready line in procmgr logs -f; stderr: \(follow.stderr)", timeout: .seconds(30)) { follow.stdout.contains("ready") }
        } catch {
            await follow.kill()
            throw error
        }
        return follow
    }

    /// The words of an event line after its date and time.
    private static func columns(_ line: String) -> [String] {
        Array(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).map(String.init))
    }

    private static func object(_ line: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw AgentTestFailure("not a JSON object: \(line)")
        }
        return object
    }

    /// Opens the FIFO the child waits on and closes it: its `read` returns.
    private static func open(_ fifo: String) throws {
        let fd = Glibc.open(fifo, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AgentTestFailure("cannot open \(fifo): errno \(errno)") }
        _ = write(fd, "go\n", 3)
        close(fd)
    }
}
