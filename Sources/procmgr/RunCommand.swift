import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import ProcmgrAgent
import ProcmgrConfig
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrRuntime
import ServiceLifecycle
import UnixSignals

/// `procmgr run [--config PATH] [--listen HOST:PORT]`: the agent. Without `--config` it runs the
/// embedded demo (a few `procmgr demo-worker`s), so a fresh machine shows real processes at once.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent (the embedded demo when no --config is given).")

    @Option(name: .long, help: "The config file (YAML or JSON). Omit it to run the embedded demo.")
    var config: String?

    @Option(name: .long, help: "Listen address HOST:PORT for the API and /metrics, over the config's agent.listen (port 0: any free port).")
    var listen: String?

    @Flag(name: .long, help: "Do not watch the config file; reload only on SIGHUP or POST /-/reload.")
    var noWatchConfig = false

    func validate() throws {
        if let listen, ListenFlag(parsing: listen) == nil {
            throw ValidationError("--listen \"\(listen)\" is not HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464, 127.0.0.1:0)")
        }
    }

    func run() async throws {
        // Before the config and the servers fill the heap: the guardian's copy-on-write share of
        // the agent's memory stays small (see Guardian.prefork). Adopt mode discards it; if the
        // fork fails here, the runtime reports it when it forks its own.
        try? Guardian.prefork()
        let logger = AgentLogging.bootstrap()
        let origin: ConfigOrigin
        if let config {
            origin = .file(path: config)
        } else {
            origin = .embedded(try DemoConfig.make(), name: "embedded demo")
            say("procmgr: no --config given, running the embedded demo (\(DemoConfig.processCount) demo workers)")
        }
        let flag = listen.flatMap(ListenFlag.init(parsing:))
        let agent: Agent
        do {
            agent = try await Agent(options: AgentOptions(
                origin: origin, listenHost: flag?.host, listenPort: flag?.port,
                fileCheckInterval: noWatchConfig ? nil : .milliseconds(250)), logger: logger)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data((error.lines.map { "\(origin.name): \($0)" }.joined(separator: "\n") + "\n").utf8))
            throw ExitCode(2)
        } catch let error as AgentStartupError {
            FileHandle.standardError.write(Data("procmgr: \(error)\n".utf8))
            throw ExitCode(1)
        }
        MetricsSystem.bootstrap(SwiftMetricsBackend(registry: agent.registry))
        let http = try agent.makeHTTPServer { url in
            say("procmgr agent listening on \(url)")
            say("  metrics:   \(url)/metrics")
            say("  processes: \(url)/api/v1/processes")
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: http), .init(service: agent)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch let error as ListenError {
            // The agent waited for the listener: no process was started.
            FileHandle.standardError.write(Data("procmgr: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as AgentStartupError {
            // Refused after listening (the fleet's node is held by another agent): nothing started.
            FileHandle.standardError.write(Data("procmgr: \(error)\n".utf8))
            throw ExitCode(1)
        }
        say("procmgr: stopped")
    }
}

/// `--listen HOST:PORT`, which unlike the config's `agent.listen` also takes port 0.
struct ListenFlag {
    var host: String
    var port: Int

    init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}

/// Logs to standard error; `PROCMGR_LOG_LEVEL` (trace … critical) sets the level, info by default.
enum AgentLogging {
    static func bootstrap() -> Logger {
        let level = ProcessInfo.processInfo.environment["PROCMGR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "procmgr")
    }
}
