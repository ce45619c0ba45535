import Foundation
import Testing
@testable import ProcmgrConfig
#if canImport(Glibc)
import Glibc
#endif

/// The validation step that looks at the files a config names, on real files: what
/// `procmgr validate` and every agent load and reload run, and what schema-only parsing must not.
@Suite("Filesystem checks")
struct FilesystemChecksTests {
    /// The problems of the config `text` written to `dir/etc/procmgr.yaml` and loaded with the
    /// filesystem checks (relative paths resolve against `dir/etc`).
    private func problems(_ text: String, in dir: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
        try Support.write(text, to: dir + "/etc/procmgr.yaml")
        do {
            _ = try ConfigLoader.load(path: dir + "/etc/procmgr.yaml", scope: .schemaAndFilesystem)
            return []
        } catch {
            return error.lines
        }
    }

    @Test("agent.token_file: missing, empty, blank, a directory, or fine")
    func tokenFile() throws {
        try Support.withTemporaryDirectory { dir in
            let config = "agent:\n  token_file: secrets/token\n"
            let token = dir + "/etc/secrets/token"
            #expect(try problems(config, in: dir) == ["agent.token_file: \(token): no such file"])

            try FileManager.default.createDirectory(atPath: dir + "/etc/secrets", withIntermediateDirectories: true)
            try Support.write("", to: token)
            #expect(try problems(config, in: dir) == ["agent.token_file: \(token): is empty (put the API's bearer token in it)"])
            try Support.write(" \n\t\n", to: token)
            #expect(try problems(config, in: dir) == ["agent.token_file: \(token): is empty (put the API's bearer token in it)"])

            try Support.write("s3cret\n", to: token)
            #expect(try problems(config, in: dir) == [])

            try FileManager.default.removeItem(atPath: token)
            try FileManager.default.createDirectory(atPath: token, withIntermediateDirectories: true)
            #expect(try problems(config, in: dir) == ["agent.token_file: \(token): is a directory, not a regular file"])
        }
    }

    @Test("log_file: the directory must exist, relative to the config file's directory")
    func logDirectoryMissing() throws {
        try Support.withTemporaryDirectory { dir in
            let config = "processes:\n  - { id: a, command: [a] }\n  - { id: b, command: [b], log_file: { path: logs/b.log } }\n"
            #expect(try problems(config, in: dir)
                == ["processes[1].log_file.path: directory \(dir)/etc/logs does not exist (create it; log files are not given directories)"])
            try FileManager.default.createDirectory(atPath: dir + "/etc/logs", withIntermediateDirectories: true)
            #expect(try problems(config, in: dir) == [])
        }
    }

    @Test("log_file: a directory that is a file, or not writable")
    func logDirectoryUnusable() throws {
        try Support.withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
            try Support.write("x", to: dir + "/etc/plain")
            #expect(try problems(Support.process("log_file: { path: plain/p.log }"), in: dir)
                == ["processes[0].log_file.path: \(dir)/etc/plain is a regular file, not a directory"])
            // /proc/self refuses new files even to root, whom mode bits do not stop.
            #expect(try problems(Support.process("log_file: { path: /proc/self/p.log }"), in: dir)
                == ["processes[0].log_file.path: directory /proc/self is not writable (operation not permitted)"])
        }
    }

    @Test("log_file: an existing path that is a directory or a FIFO; an existing file is fine")
    func logPathUnusable() throws {
        try Support.withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/etc/logs/p.log", withIntermediateDirectories: true)
            let config = Support.process("log_file: { path: logs/p.log }")
            #expect(try problems(config, in: dir)
                == ["processes[0].log_file.path: \(dir)/etc/logs/p.log is a directory, not a file to append to"])

            try FileManager.default.removeItem(atPath: dir + "/etc/logs/p.log")
            try #require(mkfifo(dir + "/etc/logs/p.log", 0o600) == 0)
            #expect(try problems(config, in: dir)
                == ["processes[0].log_file.path: \(dir)/etc/logs/p.log is a FIFO (named pipe), not a file to append to"])

            // An existing regular log file is appended to.
            try FileManager.default.removeItem(atPath: dir + "/etc/logs/p.log")
            try Support.write("earlier output\n", to: dir + "/etc/logs/p.log")
            #expect(try problems(config, in: dir) == [])
        }
    }

    @Test("filesystem problems come with the schema problems, in one report")
    func togetherWithSchemaProblems() throws {
        try Support.withTemporaryDirectory { dir in
            let config = "agent:\n  token_file: t\nprocesses:\n"
                + "  - { id: a, command: [a], restart: sometimes }\n"
                + "  - { id: b, command: [b], log_file: { path: nowhere/b.log } }\n"
            let lines = try problems(config, in: dir)
            #expect(lines == [
                #"processes[0].restart: "sometimes" is not one of always, on-failure, never"#,
                "agent.token_file: \(dir)/etc/t: no such file",
                "processes[1].log_file.path: directory \(dir)/etc/nowhere does not exist (create it; log files are not given directories)",
            ])
        }
    }

    @Test("schema-only validation does not look at the filesystem")
    func schemaScopeIsPure() throws {
        let text = "agent:\n  token_file: /nonexistent/token\nprocesses:\n  - { id: a, command: [a], log_file: { path: /nonexistent/a.log } }\n"
        let config = try Support.load(text, base: "/nonexistent")
        #expect(config.agent.tokenFile == "/nonexistent/token")
        try Support.withTemporaryDirectory { dir in
            try Support.write(text, to: dir + "/c.yaml")
            #expect(try ConfigLoader.load(path: dir + "/c.yaml").processes.count == 1)
        }
    }

    @Test("admin-service processes' log files are checked after the merge, at their admin: path")
    func adminLogFiles() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write("agent:\n  admin: { url: \"http://127.0.0.1:1/i\" }\n", to: dir + "/c.yaml")
            let config = try ConfigLoader.load(path: dir + "/c.yaml", scope: .schemaAndFilesystem)
            let body = Data(#"{"processes": [{"id": "x", "command": ["x"], "log_file": {"path": "missing/x.log"}}]}"#.utf8)
            let error = try #require(throws: ConfigError.self) {
                try ConfigLoader.mergeAdmin(response: body, into: config, scope: .schemaAndFilesystem)
            }
            #expect(error.lines == [
                "admin:processes[0].log_file.path: directory \(dir)/missing does not exist (create it; log files are not given directories)",
            ])
            #expect(try ConfigLoader.mergeAdmin(response: body, into: config).count == 1)
        }
    }
}
