import Testing
@testable import ProcmgrConfig

private let p = Support.process

/// Two or three processes with the given extra lines each, for dependency checks.
private func stack(_ processes: [(id: String, extra: [String])]) -> String {
    (["processes:"] + processes.flatMap { process in
        ["  - id: \(process.id)", "    command: [run]"] + process.extra.map { "    " + $0 }
    }).joined(separator: "\n")
}

/// Every mistake in the service-stack keys, with its exact message and path.
let stackInvalidCases: [InvalidCase] = [
    // Probes
    InvalidCase("probe with two actions", p("port: auto", "readiness: { tcp: {}, http: { path: / } }"),
                "processes[0].readiness: takes exactly one of http, tcp, exec; got http and tcp"),
    InvalidCase("probe without action", p("port: auto", "startup: { interval: 1s }"),
                "processes[0].startup: needs one of http, tcp, exec"),
    InvalidCase("unknown key in a probe", p("port: auto", "readiness: { tcp: {}, period: 1s }"),
                "processes[0].readiness.period: unknown key (expected one of: http, tcp, exec, interval, timeout, failure_threshold, success_threshold, initial_delay)"),
    InvalidCase("unknown key in tcp", p("port: auto", "readiness: { tcp: { host: x } }"),
                "processes[0].readiness.tcp.host: unknown key (expected one of: port); did you mean port?"),
    InvalidCase("timing inside a new-style http block", p("port: auto", "liveness: { http: { path: /, interval: 1s } }"),
                "processes[0].liveness.http.interval: unknown key (expected one of: path, port, headers)"),
    InvalidCase("health and liveness together", p("port: auto", "health: { http: { path: / } }", "liveness: { tcp: {} }"),
                "processes[0].liveness: is also given as its alias health (processes[0].health); keep one of them"),
    InvalidCase("legacy timing given twice", p("port: auto", "health: { http: { path: /, timeout: 1s }, timeout: 2s }"),
                "processes[0].health.http.timeout: is also given at processes[0].health.timeout; keep one of them"),
    InvalidCase("liveness success threshold", p("port: auto", "liveness: { tcp: {}, success_threshold: 2 }"),
                "processes[0].liveness.success_threshold: must be 1 for a liveness probe (as in Kubernetes; only readiness may require more)"),
    InvalidCase("startup success threshold", p("port: auto", "startup: { tcp: {}, success_threshold: 3 }"),
                "processes[0].startup.success_threshold: must be 1 for a startup probe (as in Kubernetes; only readiness may require more)"),
    InvalidCase("tcp probe without any port", p("readiness: { tcp: {} }"),
                "processes[0].readiness.tcp: needs a port to probe (set port: auto or a number on the process, or port: here)"),
    InvalidCase("tcp probe port auto without process port", p("readiness: { tcp: { port: auto } }"),
                "processes[0].readiness.tcp: needs a port to probe (set port: auto or a number on the process, or port: here)"),
    InvalidCase("probe port none", p("port: auto", "readiness: { tcp: { port: none } }"),
                #"processes[0].readiness.tcp.port: "none" is not auto or a port number (1-65535)"#),
    InvalidCase("probe port out of range", p("readiness: { http: { path: /, port: 70000 } }"),
                "processes[0].readiness.http.port: 70000 is not auto or a port number (1-65535)"),
    InvalidCase("bad header name", p("port: auto", #"readiness: { http: { path: /, headers: { "X Y": a } } }"#),
                #"processes[0].readiness.http.headers["X Y"]: "X Y" is not an HTTP header name"#),
    InvalidCase("exec without command", p("startup: { exec: {} }"),
                "processes[0].startup.exec.command: is required"),
    InvalidCase("exec with empty command", p("startup: { exec: { command: [] } }"),
                "processes[0].startup.exec.command: must be a non-empty array of strings"),
    // depends_on
    InvalidCase("unknown dependency", p("depends_on: { db: { condition: started } }"),
                #"processes[0].depends_on.db: unknown dependency "db" (no process has this id; a replicated process is named by its config id)"#),
    InvalidCase("unknown dependency in the list form", p("depends_on: [db]"),
                #"processes[0].depends_on[0]: unknown dependency "db" (no process has this id; a replicated process is named by its config id)"#),
    InvalidCase("dependency on itself", p("depends_on: { p: {} }"),
                #"processes[0].depends_on.p: "p" depends on itself"#),
    InvalidCase("unknown condition", stack([("a", ["depends_on: { b: { condition: up } }"]), ("b", [])]),
                #"processes[0].depends_on.b.condition: "up" is not one of started, running, ready, healthy, completed_successfully"#),
    InvalidCase("unknown key in a dependency", stack([("a", ["depends_on: { b: { when: up } }"]), ("b", [])]),
                "processes[0].depends_on.b.when: unknown key (expected one of: condition, restart)"),
    InvalidCase("restart not a boolean", stack([("a", [#"depends_on: { b: { restart: "yes" } }"#]), ("b", [])]),
                "processes[0].depends_on.b.restart: expected true or false, got a string"),
    InvalidCase("completed_successfully on restart always",
                stack([("a", ["depends_on: { b: { condition: completed_successfully } }"]), ("b", [])]),
                #"processes[0].depends_on.b.condition: "b" restarts always, so it never completes (give it restart: never or on-failure)"#),
    InvalidCase("two-member cycle", stack([("a", ["depends_on: [b]"]), ("b", ["depends_on: [a]"])]),
                "processes[0].depends_on: dependency cycle a → b → a (processes[0].depends_on[0], processes[1].depends_on[0])"),
    InvalidCase("three-member cycle",
                stack([("a", ["depends_on: { b: {} }"]), ("b", ["depends_on: { c: { condition: ready } }"]),
                       ("c", ["depends_on: { a: { condition: healthy } }"])]),
                "processes[0].depends_on: dependency cycle a → b → c → a (processes[0].depends_on.b, processes[1].depends_on.c, processes[2].depends_on.a)"),
    InvalidCase("cycle reached from outside, named from its first member",
                stack([("x", ["depends_on: [b]"]), ("b", ["depends_on: [c]"]), ("c", ["depends_on: [b]"])]),
                "processes[1].depends_on: dependency cycle b → c → b (processes[1].depends_on[0], processes[2].depends_on[0])"),
    // notify, replicas, update
    InvalidCase("notify access", p("notify: { access: everyone }"),
                #"processes[0].notify.access: "everyone" is not one of main, all"#),
    InvalidCase("notify watchdog zero", p("notify: { watchdog: 0s }"),
                #"processes[0].notify.watchdog: "0s" must be greater than zero"#),
    InvalidCase("unknown key in notify", p("notify: { socket: /x }"),
                "processes[0].notify.socket: unknown key (expected one of: watchdog, access)"),
    InvalidCase("zero replicas", p("replicas: 0"), "processes[0].replicas: 0 is not between 1 and 1000"),
    InvalidCase("too many replicas", p("replicas: 1001"), "processes[0].replicas: 1001 is not between 1 and 1000"),
    InvalidCase("max_unavailable zero", p("replicas: 2", "update: { max_unavailable: 0 }"),
                "processes[0].update.max_unavailable: 0 is not between 1 and 1000"),
    InvalidCase("unknown key in update", p("update: { surge: 1 }"),
                "processes[0].update.surge: unknown key (expected one of: max_unavailable)"),
    InvalidCase("fixed port shared by replicas", p("replicas: 2", "port: 8080"),
                "processes[0].port: 8080 cannot be shared by 2 replicas (use port: auto)"),
    InvalidCase("${REPLICA} without replicas", p("command: [run, \"${REPLICA}\"]").replacingOccurrences(of: "    command: [run]\n", with: ""),
                "processes[0].command[1]: uses ${REPLICA} but the process has no replicas (set replicas:)"),
    InvalidCase("replica id taken", stack([("api", ["replicas: 2"]), ("api.1", [])]),
                "processes[0].replicas: replica id api.1 is also the id at processes[1].id"),
    // schedule
    InvalidCase("minute out of range", p("restart: never", #"schedule: "61 * * * *""#),
                #"processes[0].schedule: minute "61" is out of range 0-59"#),
    InvalidCase("four fields", p("restart: never", #"schedule: "* * * *""#),
                #"processes[0].schedule: "* * * *" has 4 fields; expected five (minute hour day-of-month month day-of-week) or an alias such as @hourly"#),
    InvalidCase("unknown alias", p("restart: never", "schedule: \"@fortnightly\""),
                #"processes[0].schedule: "@fortnightly" is not a cron alias (@annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly)"#),
    InvalidCase("schedule needs restart never", p(#"schedule: "@daily""#),
                "processes[0].schedule: a scheduled job must have restart: never (restart is always)"),
    InvalidCase("schedule with replicas", p("restart: never", #"schedule: "@daily""#, "replicas: 2"),
                "processes[0].replicas: a scheduled job cannot be replicated (remove replicas or schedule)"),
    InvalidCase("unknown time zone", p("restart: never", #"schedule: "@daily""#, "time_zone: Mars/Olympus"),
                #"processes[0].time_zone: "Mars/Olympus" is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)"#),
    InvalidCase("time zone without schedule", p("time_zone: UTC"),
                "processes[0].time_zone: only applies to a scheduled job (set schedule:)"),
    InvalidCase("unknown concurrency", p("restart: never", #"schedule: "@daily""#, "concurrency: allow"),
                #"processes[0].concurrency: "allow" is not one of forbid, replace"#),
    // JSON documents report the same paths.
    InvalidCase("JSON cycle", #"{"processes": [{"id": "a", "command": ["x"], "depends_on": {"a": {}}}]}"#, format: .json,
                #"processes[0].depends_on.a: "a" depends on itself"#),
]

@Suite("Service-stack keys: invalid documents")
struct StackInvalidTests {
    @Test("each invalid stack document reports exactly its problems", arguments: stackInvalidCases)
    func reportsExactProblems(_ testCase: InvalidCase) {
        #expect(Support.problems(testCase.text, format: testCase.format) == testCase.expected)
    }
}
