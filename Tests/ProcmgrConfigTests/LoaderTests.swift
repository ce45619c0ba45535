import Foundation
import Testing
@testable import ProcmgrConfig

@Suite("Loading files")
struct LoaderTests {
    @Test("relative paths resolve against the config file's directory")
    func relativePaths() throws {
        try Support.withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
            try Support.write("""
            agent:
              state_dir: ../state
              token_file: secrets/token
              admin: { url: "http://127.0.0.1:8080/i", token_file: admin.token, cache_file: cache/admin.json }
            processes:
              - id: p
                working_dir: app
                log_file: { path: ./logs/p.log }
            """, to: dir + "/etc/procmgr.yaml")
            let config = try ConfigLoader.load(path: dir + "/etc/procmgr.yaml")
            #expect(config.agent.stateDir == PathResolver.normalize(dir + "/state"))
            #expect(config.agent.tokenFile == dir + "/etc/secrets/token")
            #expect(config.agent.admin?.tokenFile == dir + "/etc/admin.token")
            #expect(config.agent.admin?.cacheFile == dir + "/etc/cache/admin.json")
            #expect(config.baseDirectory == dir + "/etc")
            let specs = try ConfigLoader.mergeAdmin(response: Data(#"{"processes": [{"id": "p", "command": ["x"]}]}"#.utf8), into: config)
            #expect(specs[0].workingDir == dir + "/etc/app")
            #expect(specs[0].logFile?.path == dir + "/etc/logs/p.log")
        }
    }

    @Test("replicas may share a hostname (the routes API returns all their healthy endpoints)")
    func sharedHostname() throws {
        let config = try ConfigLoader.parse(data: Data("""
        processes:
          - { id: a, command: [a], hostnames: [x.test] }
          - { id: b, command: [b], hostnames: [X.test] }
        """.utf8), format: .yaml)
        #expect(config.processes.map(\.hostnames) == [["x.test"], ["x.test"]])
    }

    @Test("absolute paths are kept; a relative config path is taken from the current directory")
    func absolutePaths() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(Support.process("working_dir: /opt/app"), to: dir + "/c.yml")
            let config = try ConfigLoader.load(path: dir + "/c.yml")
            #expect(config.processes[0].workingDir == "/opt/app")
            #expect(config.agent.stateDir == dir + "/.procmgr")
        }
    }

    @Test("the extension picks the reader")
    func jsonByExtension() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(Fixtures.fullJSON, to: dir + "/procmgr.json")
            try Support.write(Fixtures.fullYAML, to: dir + "/procmgr.yaml")
            try Support.write(Fixtures.fullJSON, to: dir + "/procmgr.conf")
            let json = try ConfigLoader.load(path: dir + "/procmgr.json")
            let yaml = try ConfigLoader.load(path: dir + "/procmgr.yaml")
            let sniffed = try ConfigLoader.load(path: dir + "/procmgr.conf")
            #expect(json == yaml)
            #expect(sniffed == json)
        }
    }

    @Test("a YAML file named .json is read as JSON and fails as such")
    func extensionIsBinding() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write("processes: []", to: dir + "/c.json")
            let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: dir + "/c.json") }
            #expect(error.code == .syntax)
            #expect(error.lines == ["JSON syntax error at line 1, column 1: unexpected 'p', expected a value"])
        }
    }

    @Test("a missing file is unreadable")
    func missingFile() throws {
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/procmgr.yaml") }
        #expect(error.code == .unreadable)
        #expect(error.lines == ["/nonexistent/procmgr.yaml: no such file"])
    }

    @Test("a directory is unreadable")
    func directory() throws {
        try Support.withTemporaryDirectory { dir in
            let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: dir) }
            #expect(error.code == .unreadable)
        }
    }

    @Test("path normalization", arguments: [
        ("/a/./b/../c", "/a/c"), ("a//b/", "a/b"), ("./.procmgr", ".procmgr"), (".", "."), ("../x", "../x"),
        ("/../x", "/x"), ("a/..", "."), ("a/../..", ".."),
    ])
    func normalize(path: String, expected: String) {
        #expect(PathResolver.normalize(path) == expected)
    }

    @Test("without a base directory paths stay relative")
    func noBase() throws {
        let config = try Support.load(Support.process("working_dir: ./app/", "log_file: { path: logs/../p.log }"))
        #expect(config.processes[0].workingDir == "app")
        #expect(config.processes[0].logFile?.path == "p.log")
        #expect(config.agent.stateDir == ".procmgr")
    }
}
