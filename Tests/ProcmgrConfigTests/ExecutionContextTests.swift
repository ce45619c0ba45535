import Foundation
import Testing
@testable import ProcmgrConfig

private let p = Support.process

/// Every mistake in the execution-context keys that the document alone shows.
let contextInvalidCases: [InvalidCase] = [
    InvalidCase("unknown key in limits", p("limits: { memory: 64MiB, memroy: 1GiB }"),
                "processes[0].limits.memroy: unknown key (expected one of: memory, cpu, pids, nofile, nproc, core, memlock, stack); did you mean memory?"),
    InvalidCase("unknown key in hooks", p("hooks: { pre_start: [x], post_start: [y] }"),
                "processes[0].hooks.post_start: unknown key (expected one of: pre_start, post_stop, timeout)"),
    InvalidCase("memory below 1MiB", p("limits: { memory: 512 }"),
                "processes[0].limits.memory: 512 is less than the minimum of 1MiB (write a unit: 512MiB)"),
    InvalidCase("memory not a size", p("limits: { memory: lots }"),
                #"processes[0].limits.memory: "lots" is not a size (e.g. 10MiB; units B, KiB, MiB, GiB, KB, MB, GB)"#),
    InvalidCase("cpu zero", p("limits: { cpu: 0 }"),
                "processes[0].limits.cpu: 0 must be greater than zero (cores, e.g. 0.5 or 2)"),
    InvalidCase("cpu too many", p("limits: { cpu: 2000 }"),
                "processes[0].limits.cpu: 2000 is not between 0 and 1024"),
    InvalidCase("cpu as text", p("limits: { cpu: 1.5x }"),
                "processes[0].limits.cpu: expected a number, got a string"),
    InvalidCase("pids zero", p("limits: { pids: 0 }"),
                "processes[0].limits.pids: 0 is not between 1 and 4194304"),
    InvalidCase("nofile zero", p("limits: { nofile: 0 }"),
                "processes[0].limits.nofile: 0 is not between 1 and 1073741816"),
    InvalidCase("nproc negative", p("limits: { nproc: -1 }"),
                "processes[0].limits.nproc: -1 must be at least 1"),
    InvalidCase("stack zero", p("limits: { stack: 0 }"),
                "processes[0].limits.stack: 0 must be greater than zero"),
    InvalidCase("limits not a mapping", p("limits: 5"),
                "processes[0].limits: expected a mapping, got a number"),
    InvalidCase("empty hook argv", p("hooks: { pre_start: [] }"),
                "processes[0].hooks.pre_start: must be a non-empty array of strings"),
    InvalidCase("hook program empty", p(#"hooks: { post_stop: [""] }"#),
                "processes[0].hooks.post_stop[0]: must not be empty (it is the program to run)"),
    InvalidCase("hook timeout zero", p("hooks: { pre_start: [x], timeout: 0s }"),
                #"processes[0].hooks.timeout: "0s" must be greater than zero"#),
    InvalidCase("hooks without a hook", p("hooks: { timeout: 5s }"),
                "processes[0].hooks: names no hook (set pre_start, post_stop or both)"),
    InvalidCase("env_file not a path", p("env_file: { a: b }"),
                "processes[0].env_file: expected a path or an array of paths, got a mapping"),
    InvalidCase("env_file empty path", p(#"env_file: [a, ""]"#),
                "processes[0].env_file[1]: must not be empty"),
    InvalidCase("user empty", p(#"user: """#),
                #"processes[0].user: "" is not a user or group name or number"#),
    InvalidCase("group negative", p("group: -4"),
                "processes[0].group: -4 is not a valid id (0-4294967294)"),
]

@Suite("Execution context: user, group, env_file, limits, hooks")
struct ExecutionContextTests {
    @Test("each invalid execution-context document reports exactly its problems", arguments: contextInvalidCases)
    func reportsExactProblems(_ testCase: InvalidCase) {
        #expect(Support.problems(testCase.text, format: testCase.format) == testCase.expected)
    }

    @Test("every field decodes; defaults and spellings")
    func decoding() throws {
        let spec = try Support.spec(
            "user: 33", "group: www-data",
            "limits: { memory: 512MiB, cpu: 1.5, pids: 256, nofile: 65536, nproc: unlimited, core: 0, memlock: 64KiB, stack: 8MiB }",
            "hooks: { pre_start: [./migrate.sh, --up], post_stop: [./cleanup.sh] }")
        #expect(spec.user == "33")
        #expect(spec.group == "www-data")
        #expect(spec.limits == LimitsSpec(memoryBytes: 512 << 20, cpuCores: 1.5, pids: 256, nofile: 65536,
                                          nproc: LimitsSpec.unlimited, core: 0, memlock: 64 << 10, stack: 8 << 20))
        #expect(spec.hooks == HooksSpec(preStart: ["./migrate.sh", "--up"], postStop: ["./cleanup.sh"], timeout: .seconds(30)))
        #expect(try Support.spec("hooks: { post_stop: [x], timeout: 2m }").hooks?.timeout == .seconds(120))
        let bare = try Support.spec()
        #expect(bare.user == nil && bare.group == nil && bare.limits == nil && bare.hooks == nil && bare.envFiles == [])
    }

    @Test("env_file: one path or a list, resolved against the config file's directory")
    func envFilePaths() throws {
        let one = try Support.load(p("env_file: .env"), base: "/srv/app").processes[0]
        #expect(one.envFiles == ["/srv/app/.env"])
        let many = try Support.load(p("env_file: [../shared.env, /etc/app.env, ./local.env]"), base: "/srv/app").processes[0]
        #expect(many.envFiles == ["/srv/shared.env", "/etc/app.env", "/srv/app/local.env"])
        // Schema-only parsing records the paths and reads nothing.
        #expect(many.env == [:])
    }

    @Test("rendered back, every field validates to an equal spec")
    func roundTrip() throws {
        let spec = try Support.spec(
            "user: nobody", "group: '65534'", "env_file: [/nonexistent/a.env]", "env: { A: '1' }",
            "limits: { memory: 1GiB, cpu: 2, pids: 64, nofile: 1024, nproc: 100, core: unlimited, memlock: 0, stack: unlimited }",
            "hooks: { pre_start: [a], timeout: 500ms }")
        let data = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(ProcessSpec.self, from: data) == spec)
        let document = ConfigNode.mapping(["processes": .init(.sequence([spec.configNode]))])
        #expect(try Support.load(String(decoding: try JSONEncoder().encode(document), as: UTF8.self), format: .json).processes == [spec])
    }

    @Test("equality: each new field is part of the change test")
    func equality() throws {
        let base = try Support.spec()
        var changed = base
        for mutate: (inout ProcessSpec) -> Void in [
            { $0.user = "nobody" }, { $0.group = "nogroup" }, { $0.envFiles = ["/a.env"] },
            { $0.limits = LimitsSpec(pids: 10) }, { $0.hooks = HooksSpec(preStart: ["x"]) },
        ] {
            changed = base
            mutate(&changed)
            #expect(changed != base)
        }
        #expect(try Support.spec("limits: { memory: 1024MiB }") == (try Support.spec("limits: { memory: 1GiB }")))
        #expect(try Support.spec("limits: { cpu: 1 }") != (try Support.spec("limits: { cpu: 1.5 }")))
    }

    @Test("replicas carry the execution context")
    func replicas() throws {
        let spec = try Support.spec("replicas: 2", "user: nobody", "limits: { pids: 8 }", "hooks: { post_stop: [x] }",
                                    "env_file: /e.env")
        let replica = spec.replica(1)
        #expect(replica.user == "nobody" && replica.limits == spec.limits && replica.hooks == spec.hooks
            && replica.envFiles == ["/e.env"])
    }

    @Test("admin merge: local limits and hooks override field by field; env_file replaces the list")
    func merge() throws {
        let local = MergeTests.adminHeader + """
        processes:
          - id: a
            limits: { cpu: 2, pids: null }
            hooks: { timeout: 5s }
            env_file: [local.env]
        """
        let admin = #"{"processes": [{"id": "a", "command": ["x"], "limits": {"memory": "1GiB", "pids": 10},"# +
            #" "hooks": {"pre_start": ["m"]}, "env_file": ["a.env", "b.env"]}]}"#
        let config = try Support.load(local, base: "/srv")
        let merged = try ConfigLoader.mergeAdmin(response: Data(admin.utf8), into: config)[0]
        #expect(merged.limits == LimitsSpec(memoryBytes: 1 << 30, cpuCores: 2))
        #expect(merged.hooks == HooksSpec(preStart: ["m"], timeout: .seconds(5)))
        #expect(merged.envFiles == ["/srv/local.env"])
    }
}
