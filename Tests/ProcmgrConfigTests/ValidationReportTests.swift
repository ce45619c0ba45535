import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import ProcmgrConfig

@Suite("validate report")
struct ValidationReportTests {
    @Test("a valid file reports a verdict, the agent and each process")
    func valid() throws {
        try Support.withTemporaryDirectory { dir in
            // validate checks the files the config names: the token and the log directory exist.
            try Support.write(Fixtures.fullYAML.replacingOccurrences(of: "/etc/procmgr/token", with: "token"), to: dir + "/p.yaml")
            try Support.write("s3cret\n", to: dir + "/token")
            try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(report.ok)
            #expect(report.lines == [
                "\(dir)/p.yaml: valid, 2 processes",
                "agent: listen 127.0.0.1:9464, ports 30000-31000, state_dir \(dir)/.procmgr, orphans adopt, token required",
                "process api-1: port auto, restart always, liveness http /api/status, heartbeat, hostnames a.example.test, command dist/bin/servicehost -wasm apps/a.wasm -port ${PORT}",
                "process worker: port 8081, restart on-failure, command bin/worker --queue jobs",
            ])
        }
    }

    @Test("an invalid file reports a count and every problem")
    func invalid() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(Support.process("restart: sometimes", "grace_period: 10x"), to: dir + "/p.yaml")
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(!report.ok)
            #expect(report.lines == [
                "\(dir)/p.yaml: invalid, 2 problems",
                #"processes[0].restart: "sometimes" is not one of always, on-failure, never"#,
                #"processes[0].grace_period: "10x" is not a duration (e.g. 500ms, 10s, 2m)"#,
            ])
        }
    }

    @Test("the files the config names are checked, with paths relative to the config file")
    func filesystem() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(Fixtures.fullYAML.replacingOccurrences(of: "/etc/procmgr/token", with: "token"), to: dir + "/p.yaml")
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(!report.ok)
            #expect(report.lines == [
                "\(dir)/p.yaml: invalid, 2 problems",
                "agent.token_file: \(dir)/token: no such file",
                "processes[0].log_file.path: directory \(dir)/logs does not exist (create it; log files are not given directories)",
            ])
        }
    }

    @Test("an admin cache that is a FIFO is reported, not waited on")
    func adminCacheFIFO() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(MergeTests.localOverrides, to: dir + "/p.yaml")
            try FileManager.default.createDirectory(atPath: dir + "/.procmgr", withIntermediateDirectories: true)
            try #require(mkfifo(dir + "/.procmgr/admin-cache.json", 0o600) == 0)
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(!report.ok)
            #expect(report.lines.last == "admin cache \(dir)/.procmgr/admin-cache.json: is a FIFO (named pipe), not a regular file")
        }
    }

    @Test("a missing file is one problem")
    func missing() {
        let report = ConfigValidation.report(path: "/nonexistent.yaml")
        #expect(!report.ok)
        #expect(report.lines == ["/nonexistent.yaml: invalid, 1 problem", "/nonexistent.yaml: no such file"])
    }

    @Test("admin mode without a cache validates the overrides only")
    func adminWithoutCache() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(MergeTests.localOverrides, to: dir + "/p.yaml")
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(report.ok)
            #expect(report.lines == [
                "\(dir)/p.yaml: valid, admin source http://127.0.0.1:8080/instances, 2 local overrides",
                "agent: listen 127.0.0.1:9464, ports 30000-31000, state_dir \(dir)/.procmgr, orphans kill",
                "admin cache \(dir)/.procmgr/admin-cache.json: not present; admin processes are validated when fetched",
            ])
        }
    }

    @Test("admin mode with a cache validates the merged result")
    func adminWithCache() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(MergeTests.localOverrides, to: dir + "/p.yaml")
            try FileManager.default.createDirectory(atPath: dir + "/.procmgr", withIntermediateDirectories: true)
            try Support.write(MergeTests.adminResponse, to: dir + "/.procmgr/admin-cache.json")
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(report.ok)
            #expect(report.lines.count == 6)
            #expect(report.lines[2] == "admin cache \(dir)/.procmgr/admin-cache.json: valid when merged, 3 processes")
            #expect(report.lines[3].hasPrefix("process api-1: port auto, restart never, liveness http /status"))

            try Support.write(#"{"processes": [{"id": "x", "port": 0}]}"#, to: dir + "/.procmgr/admin-cache.json")
            let bad = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(!bad.ok)
            // api-1 is no longer listed, so its override stands alone and is incomplete.
            #expect(Array(bad.lines.dropFirst(2)) == [
                "admin cache \(dir)/.procmgr/admin-cache.json: invalid when merged, 4 problems",
                "admin:processes[0].command: is required",
                "admin:processes[0].port: 0 is not auto, none or a port number (1-65535)",
                "processes[0].command: is required",
                "processes[0].health.http.path: is required",
            ])
        }
    }
}
