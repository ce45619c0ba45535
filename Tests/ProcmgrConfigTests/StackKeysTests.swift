import Foundation
import Testing
@testable import ProcmgrConfig

/// Every service-stack key read from YAML and JSON into the model, with its defaults.
@Suite("Service-stack keys")
struct StackKeysTests {
    static let yaml = """
    processes:
      - id: db
        command: [db, "--port", "${PORT}"]
        port: auto
        liveness: { http: { path: /healthz, headers: { X-Probe: "1" } }, interval: 5s, timeout: 2s, failure_threshold: 4 }
        readiness: { tcp: { port: auto }, interval: 2s, success_threshold: 2 }
        startup: { exec: { command: ["/bin/true", "-x"] }, failure_threshold: 30, initial_delay: 1s }
        notify: { watchdog: 30s, access: main }
      - id: migrate
        command: [migrate]
        restart: never
        depends_on: { db: { condition: healthy } }
      - id: api
        command: [api, "--replica", "${REPLICA}", "$${REPLICA}"]
        port: auto
        replicas: 3
        update: { max_unavailable: 2 }
        readiness: { http: { path: /ready, port: 9000 } }
        depends_on:
          db: { condition: ready, restart: true }
          migrate: { condition: completed_successfully }
      - id: report
        command: [report]
        restart: never
        schedule: "*/5 * * * *"
        time_zone: Europe/Paris
        concurrency: replace
        notify: {}
    """

    static let json = """
    {"processes": [
      {"id": "db", "command": ["db", "--port", "${PORT}"], "port": "auto",
       "liveness": {"http": {"path": "/healthz", "headers": {"X-Probe": "1"}}, "interval": "5s", "timeout": "2s", "failure_threshold": 4},
       "readiness": {"tcp": {"port": "auto"}, "interval": "2s", "success_threshold": 2},
       "startup": {"exec": {"command": ["/bin/true", "-x"]}, "failure_threshold": 30, "initial_delay": "1s"},
       "notify": {"watchdog": "30s", "access": "main"}},
      {"id": "migrate", "command": ["migrate"], "restart": "never", "depends_on": {"db": {"condition": "healthy"}}},
      {"id": "api", "command": ["api", "--replica", "${REPLICA}", "$${REPLICA}"], "port": "auto", "replicas": 3,
       "update": {"max_unavailable": 2}, "readiness": {"http": {"path": "/ready", "port": 9000}},
       "depends_on": {"db": {"condition": "ready", "restart": true}, "migrate": {"condition": "completed_successfully"}}},
      {"id": "report", "command": ["report"], "restart": "never", "schedule": "*/5 * * * *", "time_zone": "Europe/Paris",
       "concurrency": "replace", "notify": {}}
    ]}
    """

    @Test("YAML and JSON read to the same model", arguments: [ConfigFormat.yaml, .json])
    func everyKey(_ format: ConfigFormat) throws {
        let specs = try Support.load(format == .yaml ? Self.yaml : Self.json, format: format).processes
        let db = specs[0], migrate = specs[1], api = specs[2], report = specs[3]

        #expect(db.liveness == ProbeSpec(action: .http(path: "/healthz", port: .processPort, headers: ["X-Probe": "1"]),
                                         interval: .seconds(5), timeout: .seconds(2), failureThreshold: 4))
        #expect(db.readiness == ProbeSpec(action: .tcp(port: .processPort), interval: .seconds(2), timeout: .seconds(1), successThreshold: 2))
        #expect(db.startup == ProbeSpec(action: .exec(command: ["/bin/true", "-x"]), interval: .seconds(10), timeout: .seconds(1),
                                        failureThreshold: 30, initialDelay: .seconds(1)))
        #expect(db.notify == NotifySpec(watchdog: .seconds(30), access: .main))
        #expect(db.dependsOn.isEmpty && db.replicas == nil && db.schedule == nil && db.update == UpdateSpec(maxUnavailable: 1))

        #expect(migrate.dependsOn == ["db": DependencySpec(condition: .healthy, restart: false)])

        #expect(api.replicas == 3)
        #expect(api.update == UpdateSpec(maxUnavailable: 2))
        #expect(api.readiness?.action == .http(path: "/ready", port: .fixed(9000), headers: [:]))
        #expect(api.dependsOn == ["db": DependencySpec(condition: .ready, restart: true),
                                  "migrate": DependencySpec(condition: .completedSuccessfully)])

        let schedule = try #require(report.schedule)
        #expect(schedule.cron == (try CronExpression(parsing: "*/5 * * * *")))
        #expect(schedule.timeZone == "Europe/Paris")
        #expect(schedule.concurrency == .replace)
        #expect(report.notify == NotifySpec(watchdog: nil, access: .all))
    }

    @Test("defaults: readiness/startup 10s/1s, liveness keeps health's 15s/2s, depends_on started, schedule UTC forbid")
    func defaults() throws {
        let spec = try Support.spec("port: auto", "restart: never", "readiness: { tcp: {} }", "startup: { tcp: {} }", "liveness: { tcp: {} }",
                                    #"schedule: "@hourly""#)
        #expect(spec.readiness == ProbeSpec(action: .tcp(port: .processPort), interval: .seconds(10), timeout: .seconds(1)))
        #expect(spec.startup == spec.readiness)
        #expect(spec.liveness == ProbeSpec(action: .tcp(port: .processPort), interval: .seconds(15), timeout: .seconds(2)))
        #expect(spec.schedule?.timeZone == "UTC")
        #expect(spec.schedule?.concurrency == .forbid)
    }

    @Test("the legacy health block is liveness, timing inside http or beside it")
    func healthAlias() throws {
        let legacy = try Support.spec("port: auto", "health: { http: { path: /s, interval: 5s } }")
        let split = try Support.spec("port: auto", "health: { http: { path: /s }, interval: 5s }")
        let modern = try Support.spec("port: auto", "liveness: { http: { path: /s }, interval: 5s }")
        #expect(legacy == modern && split == modern)
        #expect(modern.liveness?.interval == .seconds(5))
    }

    @Test("a dependency in the list form waits for started")
    func listForm() throws {
        let config = try Support.load("processes:\n  - { id: a, command: [x] }\n  - { id: b, command: [y], depends_on: [a] }")
        #expect(config.processes[1].dependsOn == ["a": DependencySpec(condition: .started, restart: false)])
    }

    @Test("a probe on its own port needs no process port; exec needs none")
    func probeOwnPort() throws {
        let spec = try Support.spec("readiness: { http: { path: /, port: 9000 } }", "liveness: { exec: { command: [check] } }")
        #expect(spec.readiness?.action == .http(path: "/", port: .fixed(9000), headers: [:]))
        #expect(spec.liveness?.action == .exec(command: ["check"]))
    }

    @Test("every new key renders to the schema and reads back equal (Codable)")
    func roundTrip() throws {
        for spec in try Support.load(Self.yaml).processes {
            let data = try JSONEncoder().encode(spec)
            #expect(try JSONDecoder().decode(ProcessSpec.self, from: data) == spec)
        }
    }

    @Test("equality: spelling does not matter, each new field does")
    func equality() throws {
        let base = try Support.spec("port: auto", "readiness: { tcp: {} }")
        #expect(base == (try Support.spec("port: auto", "readiness: { tcp: { port: auto }, interval: 10s, timeout: 1000ms }")))
        #expect(base != (try Support.spec("port: auto", "readiness: { tcp: { port: 9 } }")))
        #expect(base != (try Support.spec("port: auto", "readiness: { tcp: {} }", "notify: {}")))
        #expect(base != (try Support.spec("port: auto", "readiness: { tcp: {} }", "replicas: 1")))
        #expect(base != (try Support.spec("port: auto", "readiness: { tcp: {} }", "update: { max_unavailable: 2 }")))
        #expect((try Support.spec("restart: never", #"schedule: "0 * * * *""#))
            == (try Support.spec("restart: never", #"schedule: "@hourly""#)))
    }

    @Test("overrides merge into probe, depends_on and notify blocks field by field, null removes")
    func merge() throws {
        let admin = [ConfigNode.mapping([
            "id": "a", "command": ["x"], "port": "auto", "readiness": .mapping(["tcp": .mapping([:]), "interval": "2s"]),
            "depends_on": .mapping(["b": .mapping(["condition": "ready"]), "c": .mapping([:])]), "notify": .mapping(["watchdog": "5s"]),
        ]), .mapping(["id": "b", "command": ["y"]]), .mapping(["id": "c", "command": ["z"]])]
        let override = ConfigNode.mapping([
            "id": "a", "readiness": .mapping(["timeout": "3s"]), "depends_on": .mapping(["b": .mapping(["restart": true]), "c": nil]),
            "notify": .mapping(["access": "main"]),
        ])
        let merged = ConfigMerger.merge(admin: admin, overrides: [override])
        let specs = try DocumentValidator.validateComplete(merged, listen: nil, portRange: nil, baseDirectory: nil)
        #expect(specs[0].readiness == ProbeSpec(action: .tcp(port: .processPort), interval: .seconds(2), timeout: .seconds(3)))
        #expect(specs[0].dependsOn == ["b": DependencySpec(condition: .ready, restart: true)])
        #expect(specs[0].notify == NotifySpec(watchdog: .seconds(5), access: .main))
    }

    @Test("an exec probe's program is looked up in PATH when the filesystem is checked")
    func execProgramLookup() throws {
        let text = Support.process("env: { PATH: /usr/bin:/bin }", "startup: { exec: { command: [no-such-program-xyz] } }",
                                   "readiness: { exec: { command: [sh, -c, \"exit 0\"] } }", "liveness: { exec: { command: [./local] } }")
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse(data: Data(text.utf8), format: .yaml, baseDirectory: "/", scope: .schemaAndFilesystem)
        }
        #expect(error.lines == [#"processes[0].startup.exec.command[0]: "no-such-program-xyz" not found in PATH (/usr/bin:/bin)"#])
        // Schema-only parsing stays a pure function of the text.
        #expect(throws: Never.self) { try ConfigLoader.parse(data: Data(text.utf8), format: .yaml, baseDirectory: "/") }
    }

    @Test("auto ports are counted per replica against the range")
    func replicaPortCapacity() {
        let text = "agent:\n  ports: { range: \"30000-30002\" }\n" + Support.process("port: auto", "replicas: 4")
        #expect(Support.problems(text) == [
            "processes[0].port: 4 processes use port: auto but agent.ports.range (30000-30002) holds 3 ports; "
                + "widen the range or give some processes fixed ports outside it",
        ])
    }
}
