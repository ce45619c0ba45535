import Testing
@testable import ProcmgrConfig

/// One invalid document and the exact problem lines it must produce.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let format: ConfigFormat
    let expected: [String]

    init(_ name: String, _ text: String, format: ConfigFormat = .yaml, _ expected: String...) {
        self.name = name
        self.text = text
        self.format = format
        self.expected = expected
    }

    var testDescription: String { name }
}

private let p = Support.process

/// The table: every kind of mistake the validator knows, with its message.
let invalidCases: [InvalidCase] = [
    // Durations
    InvalidCase("garbage duration", p("grace_period: 10x"),
                #"processes[0].grace_period: "10x" is not a duration (e.g. 500ms, 10s, 2m)"#),
    InvalidCase("number as duration", p("grace_period: 10"),
                "processes[0].grace_period: 10 is not a duration (e.g. 500ms, 10s, 2m)"),
    InvalidCase("negative duration", p("grace_period: -5s"),
                #"processes[0].grace_period: "-5s" is not a duration (e.g. 500ms, 10s, 2m)"#),
    InvalidCase("zero grace period", p("grace_period: 0s"),
                #"processes[0].grace_period: "0s" must be greater than zero"#),
    InvalidCase("duration as mapping", p("grace_period: {s: 1}"),
                "processes[0].grace_period: expected a duration (e.g. 500ms, 10s, 2m), got a mapping"),
    InvalidCase("agent shutdown grace", "agent:\n  shutdown_grace_period: forever",
                #"agent.shutdown_grace_period: "forever" is not a duration (e.g. 500ms, 10s, 2m)"#),
    InvalidCase("agent log_child_output", "agent:\n  log_child_output: \"yes\"",
                "agent.log_child_output: expected true or false, got a string"),
    // Enumerations
    InvalidCase("unknown restart policy", p("restart: sometimes"),
                #"processes[0].restart: "sometimes" is not one of always, on-failure, never"#),
    InvalidCase("YAML boolean as restart policy", p("restart: no"),
                "processes[0].restart: no is not one of always, on-failure, never"),
    InvalidCase("unknown stop signal", p("stop_signal: FOO"),
                #"processes[0].stop_signal: "FOO" is not a signal (TERM, INT, QUIT, HUP, KILL, USR1, USR2)"#),
    InvalidCase("numeric stop signal", p("stop_signal: 15"),
                "processes[0].stop_signal: 15 is not a signal (TERM, INT, QUIT, HUP, KILL, USR1, USR2)"),
    InvalidCase("unknown orphan policy", "agent:\n  orphans: keep",
                #"agent.orphans: "keep" is not one of kill, adopt"#),
    // Ids
    InvalidCase("id with a space", "processes:\n  - id: api 1\n    command: [run]",
                #"processes[0].id: "api 1" is not a valid id ([A-Za-z0-9._-]{1,63})"#),
    InvalidCase("id too long", "processes:\n  - id: \(String(repeating: "a", count: 64))\n    command: [run]",
                #"processes[0].id: "\#(String(repeating: "a", count: 64))" is not a valid id ([A-Za-z0-9._-]{1,63})"#),
    InvalidCase("reserved id", "processes:\n  - id: ..\n    command: [run]",
                #"processes[0].id: ".." is not a valid id (. and .. are reserved)"#),
    InvalidCase("numeric id", "processes:\n  - id: 7\n    command: [run]",
                #"processes[0].id: expected a string, got a number (quote it: "7")"#),
    InvalidCase("missing id", "processes:\n  - command: [run]",
                "processes[0].id: is required"),
    InvalidCase("duplicate id",
                "processes:\n  - id: api-1\n    command: [a]\n  - id: api-2\n    command: [b]\n  - id: api-1\n    command: [c]",
                #"processes[2].id: "api-1" is a duplicate of processes[0].id"#),
    // Command
    InvalidCase("empty command", "processes:\n  - id: p\n    command: []",
                "processes[0].command: must be a non-empty array of strings"),
    InvalidCase("command as a string", "processes:\n  - id: p\n    command: run --fast",
                "processes[0].command: must be a non-empty array of strings"),
    InvalidCase("missing command", "processes:\n  - id: p",
                "processes[0].command: is required"),
    InvalidCase("number in command", "processes:\n  - id: p\n    command: [run, -n, 3]",
                #"processes[0].command[2]: expected a string, got a number (quote it: "3")"#),
    InvalidCase("empty program", "processes:\n  - id: p\n    command: [\"\"]",
                "processes[0].command[0]: must not be empty (it is the program to run)"),
    InvalidCase("${PORT} without a port", "processes:\n  - id: p\n    command: [run, \"--port=${PORT}\"]",
                "processes[0].command[1]: uses ${PORT} but the process has no port (set port: auto or a number)"),
    InvalidCase("unknown variable", "processes:\n  - id: p\n    command: [run, \"${HOST}\"]",
                "processes[0].command[1]: unknown variable ${HOST} (only ${PORT}, ${REPLICA} and ${PROCMGR} are defined; write $${ for a literal ${)"),
    InvalidCase("unterminated variable", "processes:\n  - id: p\n    port: auto\n    command: [run, \"${PORT\"]",
                #"processes[0].command[1]: "${PORT" has an unterminated ${ (write $${ for a literal ${)"#),
    // Unknown keys
    InvalidCase("unknown process key", p("frobnicate: 1"),
                "processes[0].frobnicate: unknown key (expected one of: id, command, env, working_dir, port, hostnames, restart, backoff, grace_period, stop_signal, health, liveness, readiness, startup, heartbeat, log_file, depends_on, notify, replicas, update, schedule, time_zone, concurrency, user, group, env_file, limits, hooks)"),
    InvalidCase("misspelled process key", p("restrat: always"),
                "processes[0].restrat: unknown key (expected one of: id, command, env, working_dir, port, hostnames, restart, backoff, grace_period, stop_signal, health, liveness, readiness, startup, heartbeat, log_file, depends_on, notify, replicas, update, schedule, time_zone, concurrency, user, group, env_file, limits, hooks); did you mean restart?"),
    InvalidCase("unknown agent key", "agent:\n  listen_on: 127.0.0.1:1",
                "agent.listen_on: unknown key (expected one of: listen, ports, shutdown_grace_period, orphans, state_dir, token_file, admin, etcd, log_child_output); did you mean listen?"),
    InvalidCase("unknown top-level key", "proceses: []",
                "proceses: unknown key (expected one of: agent, processes); did you mean processes?"),
    InvalidCase("unknown backoff key", p("backoff: { inital: 1s }"),
                "processes[0].backoff.inital: unknown key (expected one of: initial, max, multiplier, jitter, reset_after); did you mean initial?"),
    // Ports
    InvalidCase("reversed port range", "agent:\n  ports: { range: \"31000-30000\" }",
                #"agent.ports.range: "31000-30000" is not a port range (low-high, 1-65535, low ≤ high)"#),
    InvalidCase("port range out of bounds", "agent:\n  ports: { range: 0-100 }",
                #"agent.ports.range: "0-100" is not a port range (low-high, 1-65535, low ≤ high)"#),
    InvalidCase("port zero", p("port: 0"),
                "processes[0].port: 0 is not auto, none or a port number (1-65535)"),
    InvalidCase("port too large", p("port: 70000"),
                "processes[0].port: 70000 is not auto, none or a port number (1-65535)"),
    InvalidCase("port as quoted number", p("port: \"8080\""),
                #"processes[0].port: "8080" is not auto, none or a port number (1-65535)"#),
    InvalidCase("fixed port collision",
                "processes:\n  - id: a\n    command: [a]\n    port: 8080\n  - id: b\n    command: [b]\n    port: 8080",
                "processes[1].port: 8080 is also the fixed port of processes[0]"),
    InvalidCase("fixed port is the listen port", "agent:\n  listen: 127.0.0.1:9000\n" + p("port: 9000"),
                "processes[0].port: 9000 is also the agent's listen port (agent.listen)"),
    InvalidCase("listen without port", "agent:\n  listen: localhost",
                #"agent.listen: "localhost" is not a listen address (host:port, IPv6 as [::1]:9464)"#),
    InvalidCase("IPv6 listen without brackets", "agent:\n  listen: \"::1:9464\"",
                #"agent.listen: "::1:9464" is not a listen address (host:port, IPv6 as [::1]:9464)"#),
    // Env
    InvalidCase("boolean env value", p("env: { DEBUG: true }"),
                #"processes[0].env.DEBUG: expected a string, got a boolean (quote it: "true")"#),
    InvalidCase("YAML 1.1 boolean env value", p("env: { VERBOSE: yes }"),
                #"processes[0].env.VERBOSE: expected a string, got a boolean (quote it: "yes")"#),
    InvalidCase("numeric env value", p("env: { WORKERS: 4, RATIO: 0.5 }"),
                #"processes[0].env.WORKERS: expected a string, got a number (quote it: "4")"#,
                #"processes[0].env.RATIO: expected a string, got a number (quote it: "0.5")"#),
    InvalidCase("null env value", p("env: { EMPTY: }"),
                #"processes[0].env.EMPTY: expected a string, got null (write "" for an empty string)"#),
    InvalidCase("env as array", p("env: [A=1]"),
                "processes[0].env: expected a mapping of names to strings, got an array"),
    InvalidCase("env name with =", p("env: { \"A=B\": x }"),
                #"processes[0].env["A=B"]: "A=B" is not a valid environment variable name"#),
    InvalidCase("env value with NUL (YAML escape)", p("env: { FOO: \"a\\0b\" }"),
                "processes[0].env.FOO: value contains a NUL byte"),
    InvalidCase("env value with NUL (JSON escape)",
                #"{"processes": [{"id": "p", "command": ["run"], "env": {"OK": "x", "FOO": "a\u0000b"}}]}"#,
                format: .json, "processes[0].env.FOO: value contains a NUL byte"),
    InvalidCase("env name with NUL", p("env: { \"A\\0B\": x }"),
                #"processes[0].env["A\u0000B"]: "A\u0000B" is not a valid environment variable name"#),
    InvalidCase("command argument with NUL", "processes:\n  - id: p\n    command: [run, \"a\\0\"]",
                "processes[0].command[1]: contains a NUL byte"),
    // Ports against agent.ports.range
    InvalidCase("fixed port inside the auto range", "agent:\n  ports: { range: \"30000-30010\" }\n" + p("port: 30005"),
                "processes[0].port: 30005 is inside agent.ports.range (30000-30010), which is kept for port: auto; choose a port outside it or narrow the range"),
    InvalidCase("fixed port inside the default auto range", p("port: 31000"),
                "processes[0].port: 31000 is inside agent.ports.range (30000-31000), which is kept for port: auto; choose a port outside it or narrow the range"),
    InvalidCase("more auto ports than the range holds",
                "agent:\n  ports: { range: \"30000-30001\" }\nprocesses:\n"
                    + (0..<4).map { "  - { id: p\($0), command: [run], port: auto }" }.joined(separator: "\n"),
                "processes[2].port: 4 processes use port: auto but agent.ports.range (30000-30001) holds 2 ports; widen the range or give some processes fixed ports outside it"),
    InvalidCase("the listen port takes one of the range's ports",
                "agent:\n  listen: 127.0.0.1:30000\n  ports: { range: \"30000-30001\" }\nprocesses:\n"
                    + (0..<2).map { "  - { id: p\($0), command: [run], port: auto }" }.joined(separator: "\n"),
                "processes[1].port: 2 processes use port: auto but agent.ports.range (30000-30001) holds 1 port besides the agent's listen port; widen the range or give some processes fixed ports outside it"),
    // Backoff
    InvalidCase("backoff multiplier below 1", p("backoff: { multiplier: 0.5 }"),
                "processes[0].backoff.multiplier: 0.5 must be at least 1"),
    InvalidCase("backoff jitter above 1", p("backoff: { jitter: 1.5 }"),
                "processes[0].backoff.jitter: 1.5 is not between 0 and 1"),
    InvalidCase("backoff initial above max", p("backoff: { initial: 2m }"),
                "processes[0].backoff.initial: 2m is greater than backoff.max (1m)"),
    InvalidCase("backoff multiplier as string", p("backoff: { multiplier: double }"),
                "processes[0].backoff.multiplier: expected a number, got a string"),
    // Health / heartbeat
    InvalidCase("health without a probe", p("port: auto", "health: {}"),
                "processes[0].health: needs one of http, tcp, exec"),
    InvalidCase("health http without path", p("port: auto", "health: { http: { interval: 5s } }"),
                "processes[0].health.http.path: is required"),
    InvalidCase("health path not absolute", p("port: auto", "health: { http: { path: status } }"),
                #"processes[0].health.http.path: "status" is not a URL path (must start with /, no spaces)"#),
    InvalidCase("health needs a port", p("health: { http: { path: /status } }"),
                "processes[0].health.http: needs a port to probe (set port: auto or a number on the process, or port: here)"),
    InvalidCase("health threshold zero", p("port: auto", "health: { http: { path: /s, failure_threshold: 0 } }"),
                "processes[0].health.http.failure_threshold: 0 must be at least 1"),
    InvalidCase("health threshold as string", p("port: auto", "health: { http: { path: /s, success_threshold: \"2\" } }"),
                "processes[0].health.http.success_threshold: expected an integer, got a string"),
    InvalidCase("heartbeat timeout below interval", p("heartbeat: { interval: 5s, timeout: 1s }"),
                "processes[0].heartbeat.timeout: 1s is less than heartbeat.interval (5s)"),
    // Log files and paths
    InvalidCase("bad log size", p("log_file: { path: a.log, max_bytes: 10XB }"),
                #"processes[0].log_file.max_bytes: "10XB" is not a size (e.g. 10MiB; units B, KiB, MiB, GiB, KB, MB, GB)"#),
    InvalidCase("zero log size", p("log_file: { path: a.log, max_bytes: 0 }"),
                "processes[0].log_file.max_bytes: 0 must be greater than zero"),
    InvalidCase("fractional keep", p("log_file: { path: a.log, keep: 1.5 }"),
                "processes[0].log_file.keep: expected an integer, got 1.5"),
    InvalidCase("log file without path", p("log_file: { keep: 2 }"),
                "processes[0].log_file.path: is required"),
    InvalidCase("shared log file",
                "processes:\n  - id: a\n    command: [a]\n    log_file: { path: logs/x.log }\n  - id: b\n    command: [b]\n    log_file: { path: ./logs/x.log }",
                #"processes[1].log_file.path: "./logs/x.log" is also the log file of processes[0]"#),
    InvalidCase("empty working dir", p("working_dir: \"\""),
                "processes[0].working_dir: must not be empty"),
    // Hostnames
    InvalidCase("invalid hostname", p("hostnames: [a.example.test, \"b c\"]"),
                #"processes[0].hostnames[1]: "b c" is not a valid hostname"#),
    // Admin source
    InvalidCase("admin without url", "agent:\n  admin: { poll_interval: 5s }",
                "agent.admin.url: is required"),
    InvalidCase("admin url not http", "agent:\n  admin: { url: \"ftp://example.test/x\" }",
                #"agent.admin.url: "ftp://example.test/x" is not an http(s) URL"#),
    InvalidCase("admin zero poll interval", "agent:\n  admin: { url: \"http://127.0.0.1:8080/i\", poll_interval: 0s }",
                #"agent.admin.poll_interval: "0s" must be greater than zero"#),
    // Structure
    InvalidCase("processes as mapping", "processes: { api: { command: [run] } }",
                "processes: expected an array of processes, got a mapping"),
    InvalidCase("process as string", "processes: [api]",
                "processes[0]: expected a mapping, got a string"),
    InvalidCase("top level array", "- id: p",
                "expected a mapping at the top level (keys: agent, processes), got an array"),
    InvalidCase("empty document", "# nothing here\n",
                "the document is empty"),
    // Syntax
    InvalidCase("YAML syntax error", "processes:\n  - id: p\n    command: [run\n",
                "YAML syntax error at line 4, column 1: did not find expected ',' or ']' (while parsing a flow sequence at line 3, column 14)"),
    InvalidCase("two YAML documents", "processes: []\n---\nprocesses: []\n",
                "YAML syntax error at line 2, column 1: but found another document (expected a single document in the stream at line 1, column 1)"),
    InvalidCase("YAML duplicate key", "processes:\n  - id: p\n    command: [run]\n    id: q",
                "processes[0].id: duplicate key (first at line 2, column 5)"),
    // JSON
    InvalidCase("JSON boolean env value", #"{"processes": [{"id": "p", "command": ["run"], "env": {"DEBUG": true}}]}"#,
                format: .json, #"processes[0].env.DEBUG: expected a string, got a boolean (quote it: "true")"#),
    InvalidCase("JSON trailing comma", "{\n  \"processes\": [\n    {\"id\": \"p\",}\n  ]\n}",
                format: .json, "JSON syntax error at line 3, column 16: unexpected '}', expected a string key"),
    InvalidCase("JSON duplicate key", "{\"processes\": [], \"processes\": []}",
                format: .json, "processes: duplicate key (first at line 1, column 2)"),
    InvalidCase("JSON unterminated", "{\"processes\": [",
                format: .json, "JSON syntax error at line 1, column 16: unexpected end of input, expected a value"),
]

@Suite("Invalid documents")
struct InvalidDocumentTests {
    @Test("table has at least 30 documents")
    func tableSize() {
        #expect(invalidCases.count >= 30)
    }

    @Test("each invalid document reports exactly its problems", arguments: invalidCases)
    func reportsExactProblems(_ testCase: InvalidCase) {
        #expect(Support.problems(testCase.text, format: testCase.format) == testCase.expected)
    }

    @Test("every problem of a multi-error document is reported")
    func reportsAllProblems() throws {
        let yaml = """
        agent:
          listen: 9464
          ports: { range: "31000-30000" }
          orphans: adopted
        processes:
          - id: "api 1"
            command: []
            restart: sometimes
            env: { DEBUG: true, LEVEL: info }
            grace_period: 10x
            frobnicate: 1
          - id: api-1
            command: [server, "${PORT}"]
            port: 8080
            health: { http: { path: /status, interval: 1x } }
          - id: api-2
            command: [worker]
            port: 8080
            stop_signal: SIGFOO
            log_file: { path: "", keep: -1 }
          - id: api-1
            command: [again]
        """
        let expected = [
            #"agent.listen: expected a string, got a number (quote it: "9464")"#,
            #"agent.ports.range: "31000-30000" is not a port range (low-high, 1-65535, low ≤ high)"#,
            #"agent.orphans: "adopted" is not one of kill, adopt"#,
            "processes[0].frobnicate: unknown key (expected one of: id, command, env, working_dir, port, hostnames, restart, backoff, grace_period, stop_signal, health, liveness, readiness, startup, heartbeat, log_file, depends_on, notify, replicas, update, schedule, time_zone, concurrency, user, group, env_file, limits, hooks)",
            #"processes[0].id: "api 1" is not a valid id ([A-Za-z0-9._-]{1,63})"#,
            "processes[0].command: must be a non-empty array of strings",
            #"processes[0].env.DEBUG: expected a string, got a boolean (quote it: "true")"#,
            #"processes[0].restart: "sometimes" is not one of always, on-failure, never"#,
            #"processes[0].grace_period: "10x" is not a duration (e.g. 500ms, 10s, 2m)"#,
            #"processes[1].health.http.interval: "1x" is not a duration (e.g. 500ms, 10s, 2m)"#,
            #"processes[2].stop_signal: "SIGFOO" is not a signal (TERM, INT, QUIT, HUP, KILL, USR1, USR2)"#,
            "processes[2].log_file.path: must not be empty",
            "processes[2].log_file.keep: -1 is not between 0 and 1000",
            "processes[2].port: 8080 is also the fixed port of processes[1]",
            #"processes[3].id: "api-1" is a duplicate of processes[1].id"#,
        ]
        let error = try #require(throws: ConfigError.self) { try Support.load(yaml) }
        #expect(error.code == .invalid)
        #expect(error.lines == expected)
        #expect(error.description == expected.joined(separator: "\n"))
    }

    @Test("syntax errors carry a source location and the syntax code")
    func syntaxLocation() throws {
        let error = try #require(throws: ConfigError.self) { try Support.load("a: b: c") }
        #expect(error.code == .syntax)
        #expect(error.problems.first?.location == SourceLocation(line: 1, column: 5))
        #expect(error.lines == ["YAML syntax error at line 1, column 5: mapping values are not allowed in this context"])
    }

    @Test("validation problems carry the offending value's location")
    func problemLocation() throws {
        let error = try #require(throws: ConfigError.self) { try Support.load(Support.process("restart: sometimes")) }
        #expect(error.problems.first?.location == SourceLocation(line: 4, column: 14))
    }
}
