import Foundation
import Testing
@testable import ProcmgrConfig

/// `env_file:` and `user:`/`group:` against the machine, as the agent loads a config
/// (`.schemaAndFilesystem`): real files in a temporary directory, exact messages with paths.
@Suite("Execution context on the machine: env files, users, groups")
struct EnvFileLoadingTests {
    /// Runs `body` with a temporary directory that has an `etc/` for the config file.
    private func withConfigDirectory(_ body: (String) throws -> Void) throws {
        try Support.withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
            try body(dir)
        }
    }

    /// Writes `text` to `dir/etc/procmgr.yaml` and loads it with the machine checks.
    private func load(_ text: String, in dir: String) throws(ConfigError) -> AgentConfig {
        try? Support.write(text, to: dir + "/etc/procmgr.yaml")
        return try ConfigLoader.load(path: dir + "/etc/procmgr.yaml", scope: .schemaAndFilesystem)
    }

    private func problems(_ text: String, in dir: String) -> [String] {
        do {
            _ = try load(text, in: dir)
            return []
        } catch {
            return error.lines
        }
    }

    @Test("env files in order, a later file wins, env: wins over every file")
    func precedence() throws {
        try withConfigDirectory { dir in
            try Support.write("A=from-first\nB=from-first\nC=from-first\n", to: dir + "/etc/first.env")
            try Support.write("export B='from second'\nD=\"two\\nlines\"\n", to: dir + "/etc/second.env")
            let config = try load(Support.process("env_file: [first.env, second.env]", "env: { C: from-env, E: only-env }"), in: dir)
            #expect(config.processes[0].env == [
                "A": "from-first", "B": "from second", "C": "from-env", "D": "two\nlines", "E": "only-env",
            ])
            #expect(config.watchedFiles == [dir + "/etc/first.env", dir + "/etc/second.env"])
        }
    }

    @Test("a bad line is reported as file:line at the env_file entry; a single path at env_file itself")
    func badLine() throws {
        try withConfigDirectory { dir in
            try Support.write("OK=1\n\n# fine\nnot a variable\nX='open\n", to: dir + "/etc/bad.env")
            try Support.write("OK=1\n", to: dir + "/etc/good.env")
            let file = dir + "/etc/bad.env"
            #expect(problems(Support.process("env_file: [good.env, bad.env]"), in: dir) == [
                "processes[0].env_file[1]: \(file):4: expected KEY=VALUE",
                "processes[0].env_file[1]: \(file):5: unterminated single quote in the value of X (quoted values end on their line)",
            ])
            #expect(problems(Support.process("env_file: bad.env"), in: dir).first == "processes[0].env_file: \(file):4: expected KEY=VALUE")
        }
    }

    @Test("missing, unreadable, a directory or too large: the path and why")
    func unreadable() throws {
        try withConfigDirectory { dir in
            #expect(problems(Support.process("env_file: [.env]"), in: dir) == [
                #"processes[0].env_file[0]: cannot read "\#(dir)/etc/.env": No such file or directory"#,
            ])
            try FileManager.default.createDirectory(atPath: dir + "/etc/dir.env", withIntermediateDirectories: true)
            #expect(problems(Support.process("env_file: [dir.env]"), in: dir) == [
                #"processes[0].env_file[0]: cannot read "\#(dir)/etc/dir.env": is a directory, not a regular file"#,
            ])
            try Data(count: EnvFileParser.maxBytes + 1).write(to: URL(fileURLWithPath: dir + "/etc/big.env"))
            #expect(problems(Support.process("env_file: [big.env]"), in: dir) == [
                #"processes[0].env_file[0]: cannot read "\#(dir)/etc/big.env": is 1048577 bytes, over the limit of 1 MiB"#,
            ])
        }
    }

    @Test("a changed env file makes a different spec; a key env: overrides does not")
    func changedFileChangesTheSpec() throws {
        try withConfigDirectory { dir in
            let text = Support.process("env_file: app.env", "env: { PINNED: config }")
            try Support.write("LEVEL=info\nPINNED=file\n", to: dir + "/etc/app.env")
            let before = try load(text, in: dir).processes[0]
            try Support.write("LEVEL=debug\nPINNED=file\n", to: dir + "/etc/app.env")
            let after = try load(text, in: dir).processes[0]
            #expect(after.env["LEVEL"] == "debug")
            #expect(after != before)
            try Support.write("LEVEL=debug\nPINNED=other\n", to: dir + "/etc/app.env")
            #expect(try load(text, in: dir).processes[0] == after)
        }
    }

    @Test("admin mode: admin env_file paths resolve against the local config file's directory and are read")
    func adminEnvFiles() throws {
        try withConfigDirectory { dir in
            try Support.write("FROM_FILE=yes\n", to: dir + "/etc/admin.env")
            let config = try load(MergeTests.adminHeader + "processes: []\n", in: dir)
            let admin = Data(#"{"processes": [{"id": "a", "command": ["x"], "env_file": "admin.env"}]}"#.utf8)
            let specs = try ConfigLoader.mergeAdmin(response: admin, into: config, scope: .schemaAndFilesystem)
            #expect(specs[0].env == ["FROM_FILE": "yes"])
            #expect(specs.watchedFiles == [dir + "/etc/admin.env"])
            let missing = Data(#"{"processes": [{"id": "a", "command": ["x"], "env_file": ["nope.env"]}]}"#.utf8)
            #expect(throws: ConfigError.self) { try ConfigLoader.mergeAdmin(response: missing, into: config, scope: .schemaAndFilesystem) }
        }
    }

    @Test("unknown user and group are refused with their paths; known ones and numbers pass")
    func unknownAccounts() throws {
        try withConfigDirectory { dir in
            #expect(problems(Support.process("user: no-such-user-x", "group: no-such-group-x"), in: dir) == [
                #"processes[0].user: no user "no-such-user-x" on this machine"#,
                #"processes[0].group: no group "no-such-group-x" on this machine"#,
            ])
            #expect(problems(Support.process("user: nobody", "group: 65534"), in: dir) == [])
            #expect(problems(Support.process("group: root"), in: dir) == [])
            #expect(problems(Support.process("user: 4000"), in: dir) == [])
        }
    }

    /// The checks with the agent's ids injected: this test process is root, the agent here is not.
    @Test("an agent that is not root refuses another user or group, naming what it needs")
    func nonRootRefusal() throws {
        let root = try ConfigLoader.parseNodes(data: Data(Support.process("user: nobody", "group: root").utf8), format: .yaml)
        let process = try #require(root["processes"]?.elements?.first)
        func check(user: String?, group: String?, uid: UInt32, gid: UInt32) -> [String] {
            var problems = Problems()
            IdentityChecks.check(user: user, group: group, userNode: process["user"], groupNode: process["group"],
                                 effectiveUID: uid, effectiveGID: gid, problems: &problems)
            return problems.list.map(\.description)
        }
        #expect(check(user: "nobody", group: nil, uid: 1000, gid: 1000) == [#"processes[0].user: "nobody" needs root (procmgr runs as uid 1000)"#])
        #expect(check(user: nil, group: "root", uid: 1000, gid: 1000)
            == [#"processes[0].group: "root" (gid 0) needs root (procmgr runs as uid 1000, gid 1000)"#])
        // The agent's own identity needs no privilege.
        #expect(check(user: "65534", group: nil, uid: 65534, gid: 65534) == [])
        #expect(check(user: "nobody", group: "root", uid: 65534, gid: 0) == [])
        #expect(check(user: "nobody", group: nil, uid: 65534, gid: 4)
            == [#"processes[0].user: "nobody"'s primary group (gid 65534) needs root (procmgr runs as uid 65534, gid 4)"#])
        // Root may be anyone.
        #expect(check(user: "nobody", group: "root", uid: 0, gid: 0) == [])
    }
}
