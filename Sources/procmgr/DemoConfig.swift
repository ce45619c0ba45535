import Foundation
import ProcmgrConfig

/// The embedded demo of `procmgr run` without `--config`: this very binary, started as
/// `procmgr demo-worker`, several times over, with ports, health probes, heartbeats and one worker
/// that crashes now and then, through the same parser and validator as a real config file.
enum DemoConfig {
    static let processCount = 4

    static func make() throws -> AgentConfig {
        let executable = try selfExecutable()
        let yaml = """
        agent:
          listen: 127.0.0.1:9464
          ports: { range: "30000-31000" }
          shutdown_grace_period: 10s
          state_dir: \(stateDirectory())
        processes:
        \((1...2).map { web(id: "web-\($0)", executable: executable) }.joined(separator: "\n"))
          - id: flaky-1
            command: ["\(executable)", "demo-worker", "--crash-after", "20s-45s"]
            port: auto
            restart: always
            backoff: { initial: 1s, max: 30s, multiplier: 2, jitter: 0.25, reset_after: 60s }
            grace_period: 5s
            health:
              http: { path: /api/status, interval: 2s, timeout: 1s, failure_threshold: 3 }
            heartbeat: { interval: 1s, timeout: 5s }
          - id: worker-1
            command: ["\(executable)", "demo-worker"]
            port: none
            grace_period: 5s
            heartbeat: { interval: 2s, timeout: 10s }
        """
        return try ConfigLoader.parse(data: Data(yaml.utf8), format: .yaml, baseDirectory: FileManager.default.currentDirectoryPath)
    }

    private static func web(id: String, executable: String) -> String {
        """
          - id: \(id)
            command: ["\(executable)", "demo-worker"]
            env: { DEMO_NAME: \(id) }
            port: auto
            hostnames: [web.demo.test]
            grace_period: 5s
            health:
              http: { path: /api/status, interval: 2s, timeout: 1s, failure_threshold: 3 }
            heartbeat: { interval: 1s, timeout: 5s }
        """
    }

    /// Per user, outside the working tree: a demo run from anywhere leaves nothing behind there.
    private static func stateDirectory() -> String {
        (NSTemporaryDirectory() as NSString).appendingPathComponent("procmgr-demo-\(getuid())")
    }

    private static func selfExecutable() throws -> String {
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return path
    }
}
