/// The schema example from the design brief, in both syntaxes, describing the
/// same configuration.
enum Fixtures {
    static let fullYAML = """
    agent:
      listen: 127.0.0.1:9464
      ports: { range: "30000-31000" }
      shutdown_grace_period: 30s
      orphans: adopt
      state_dir: ./.procmgr
      token_file: /etc/procmgr/token
    processes:
      - id: api-1
        command: ["dist/bin/servicehost", "-wasm", "apps/a.wasm", "-port", "${PORT}"]
        env: { LOG_LEVEL: info, REGION: "eu-1" }
        working_dir: .
        port: auto
        hostnames: [a.example.test]
        restart: always
        backoff: { initial: 1s, max: 60s, multiplier: 2, jitter: 0.25, reset_after: 60s }
        grace_period: 10s
        stop_signal: SIGINT
        health:
          http: { path: /api/status, interval: 15s, timeout: 2s, failure_threshold: 3, success_threshold: 1, initial_delay: 0s }
        heartbeat: { interval: 2s, timeout: 10s }
        log_file: { path: logs/api-1.log, max_bytes: 10MiB, keep: 3 }
      - id: worker
        command: [bin/worker, --queue, jobs]
        port: 8081
        restart: on-failure
    """

    static let fullJSON = """
    {
      "agent": {
        "listen": "127.0.0.1:9464",
        "ports": {"range": "30000-31000"},
        "shutdown_grace_period": "30s",
        "orphans": "adopt",
        "state_dir": "./.procmgr",
        "token_file": "/etc/procmgr/token"
      },
      "processes": [
        {
          "id": "api-1",
          "command": ["dist/bin/servicehost", "-wasm", "apps/a.wasm", "-port", "${PORT}"],
          "env": {"REGION": "eu-1", "LOG_LEVEL": "info"},
          "working_dir": ".",
          "port": "auto",
          "hostnames": ["a.example.test"],
          "restart": "always",
          "backoff": {"initial": "1s", "max": "60s", "multiplier": 2, "jitter": 0.25, "reset_after": "60s"},
          "grace_period": "10s",
          "stop_signal": "SIGINT",
          "health": {"http": {"path": "/api/status", "interval": "15s", "timeout": "2s",
                              "failure_threshold": 3, "success_threshold": 1, "initial_delay": "0s"}},
          "heartbeat": {"interval": "2s", "timeout": "10s"},
          "log_file": {"path": "logs/api-1.log", "max_bytes": "10MiB", "keep": 3}
        },
        {"id": "worker", "command": ["bin/worker", "--queue", "jobs"], "port": 8081, "restart": "on-failure"}
      ]
    }
    """
}
