import Testing
@testable import ProcmgrConfig

@Suite("Defaults")
struct DefaultsTests {
    @Test("a minimal process gets every default")
    func processDefaults() throws {
        let spec = try Support.spec()
        #expect(spec == ProcessSpec(id: "p", command: ["run"]))
        #expect(spec.env.isEmpty)
        #expect(spec.workingDir == ".")
        #expect(spec.port == .none)
        #expect(spec.hostnames.isEmpty)
        #expect(spec.restart == .always)
        #expect(spec.backoff == BackoffSpec(initial: .seconds(1), max: .seconds(60), multiplier: 2, jitter: 0.25,
                                            resetAfter: .seconds(60)))
        #expect(spec.gracePeriod == .seconds(10))
        #expect(spec.stopSignal == .term)
        #expect(spec.liveness == nil && spec.readiness == nil && spec.startup == nil)
        #expect(spec.heartbeat == nil)
        #expect(spec.logFile == nil)
    }

    @Test("a missing agent block gets every default")
    func agentDefaults() throws {
        let config = try Support.load("processes: []", base: "/srv")
        #expect(config.agent == AgentSettings(stateDir: "/srv/.procmgr"))
        #expect(config.agent.listen.description == "127.0.0.1:9464")
        #expect(config.agent.portRange.description == "30000-31000")
        #expect(config.agent.shutdownGracePeriod == .seconds(30))
        #expect(config.agent.orphans == .kill)
        #expect(config.agent.tokenFile == nil)
        #expect(config.agent.admin == nil)
        #expect(config.agent.logChildOutput)
    }

    @Test("agent.log_child_output reads a boolean")
    func logChildOutput() throws {
        #expect(try Support.load("agent:\n  log_child_output: false\nprocesses: []", base: "/srv").agent.logChildOutput == false)
        #expect(try Support.load("agent:\n  log_child_output: true\nprocesses: []", base: "/srv").agent.logChildOutput)
    }

    @Test("a partial backoff block keeps the other defaults")
    func partialBackoff() throws {
        let spec = try Support.spec("backoff: { max: 5m, jitter: 0 }")
        #expect(spec.backoff == BackoffSpec(max: .seconds(300), jitter: 0))
    }

    @Test("health and heartbeat blocks fill in their defaults")
    func probeDefaults() throws {
        let spec = try Support.spec("port: auto", "health: { http: { path: /healthz } }", "heartbeat: {}")
        #expect(spec.liveness == ProbeSpec(action: .http(path: "/healthz", port: .processPort, headers: [:]), interval: .seconds(15),
                                           timeout: .seconds(2), failureThreshold: 3, successThreshold: 1, initialDelay: .zero))
        #expect(spec.heartbeat == HeartbeatSpec(interval: .seconds(2), timeout: .seconds(10)))
    }

    @Test("log file defaults to 10MiB and 3 kept files")
    func logDefaults() throws {
        let spec = try Support.spec("log_file: { path: /var/log/p.log }")
        #expect(spec.logFile == LogFileSpec(path: "/var/log/p.log", maxBytes: 10_485_760, keep: 3))
    }

    @Test("admin source defaults: 5s polling, cache in the state dir")
    func adminDefaults() throws {
        let config = try Support.load("agent:\n  state_dir: run/state\n  admin: { url: \"http://127.0.0.1:8080/instances\" }",
                                      base: "/srv")
        let admin = try #require(config.agent.admin)
        #expect(admin.url.absoluteString == "http://127.0.0.1:8080/instances")
        #expect(admin.pollInterval == .seconds(5))
        #expect(admin.cacheFile == "/srv/run/state/admin-cache.json")
        #expect(admin.tokenFile == nil)
    }

    @Test("explicit null means not set")
    func nullIsUnset() throws {
        let spec = try Support.spec("health:", "port: ~", "env: null")
        #expect(spec == ProcessSpec(id: "p", command: ["run"]))
    }

    @Test("an empty process list is valid")
    func noProcesses() throws {
        #expect(try Support.load("agent: {}").processes.isEmpty)
    }
}
