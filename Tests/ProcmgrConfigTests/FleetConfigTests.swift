import Foundation
import Testing
@testable import ProcmgrConfig

/// `agent.etcd`: every rule with its exact message, defaults, the files it names, and the
/// schema round trip.
@Suite("agent.etcd")
struct FleetConfigTests {
    /// A config whose `agent.etcd` block holds `lines` (each indented under it).
    static func etcd(_ lines: String...) -> String {
        (["agent:", "  etcd:"] + lines.map { "    " + $0 }).joined(separator: "\n") + "\n"
    }

    static let endpoint = "endpoints: [\"http://127.0.0.1:2379\"]"

    @Test("defaults: prefix, node from the host name, lease TTL, cache in state_dir")
    func defaults() throws {
        let config = try Support.load(Self.etcd(Self.endpoint), base: "/srv")
        let etcd = try #require(config.agent.etcd)
        #expect(etcd.endpoints == [try #require(URL(string: "http://127.0.0.1:2379"))])
        #expect(etcd.prefix == "/procmgr" && etcd.prefix == ConfigDefaults.etcdPrefix)
        #expect(etcd.node == HostName.current())
        #expect(etcd.leaseTTL == .seconds(10) && etcd.leaseTTL == ConfigDefaults.etcdLeaseTTL)
        #expect(etcd.cacheFile == "/srv/.procmgr/fleet-cache.json")
        #expect(ConfigDefaults.fleetCacheFileName == "fleet-cache.json")
        #expect(etcd.username == nil && etcd.passwordFile == nil && etcd.tls == nil && etcd.advertiseURL == nil)
    }

    @Test("every key set, paths resolved against the config's directory")
    func everyKey() throws {
        let config = try Support.load(Self.etcd(
            "endpoints: [\"https://etcd-1:2379\", \"https://etcd-2:2379/\"]", "prefix: /prod/procmgr", "node: web-01.eu",
            "lease_ttl: 30s", "username: procmgr", "password_file: secrets/etcd", "tls: { ca_file: tls/ca.pem, cert_file: /tls/c.pem, key_file: tls/k.pem }",
            "cache_file: cache/fleet.json", "api_url: \"http://10.0.0.5:9464\""), base: "/srv")
        let etcd = try #require(config.agent.etcd)
        #expect(etcd.endpoints.map(\.absoluteString) == ["https://etcd-1:2379", "https://etcd-2:2379"])  // trailing "/" dropped
        #expect(etcd.prefix == "/prod/procmgr")
        #expect(etcd.node == "web-01.eu")
        #expect(etcd.leaseTTL == .seconds(30))
        #expect(etcd.username == "procmgr")
        #expect(etcd.passwordFile == "/srv/secrets/etcd")
        #expect(etcd.tls == EtcdTLSSpec(caFile: "/srv/tls/ca.pem", certFile: "/tls/c.pem", keyFile: "/srv/tls/k.pem"))
        #expect(etcd.cacheFile == "/srv/cache/fleet.json")
        #expect(etcd.advertiseURL?.absoluteString == "http://10.0.0.5:9464")
    }

    @Test("with etcd set, local processes are overrides, as with admin")
    func overridesMode() throws {
        let config = try Support.load(Self.etcd(Self.endpoint) + "processes:\n  - id: web\n    env: { LOG: debug }\n")
        #expect(config.processes.isEmpty)
        #expect(config.overrides.count == 1)
    }

    @Test("endpoints: required, a list, non-empty, at most 32, each http(s)://host:port")
    func endpoints() {
        #expect(Support.problems(Self.etcd("prefix: /p")) == ["agent.etcd.endpoints: is required"])
        #expect(Support.problems(Self.etcd("endpoints: http://127.0.0.1:2379")) == [
            #"agent.etcd.endpoints: expected a list of etcd URLs (e.g. ["http://127.0.0.1:2379"]), got a string"#,
        ])
        #expect(Support.problems(Self.etcd("endpoints: []")) == [
            #"agent.etcd.endpoints: must list at least one etcd URL (e.g. ["http://127.0.0.1:2379"])"#,
        ])
        let many = (0..<33).map { "\"http://10.0.0.\($0):2379\"" }.joined(separator: ", ")
        #expect(Support.problems(Self.etcd("endpoints: [\(many)]")) == ["agent.etcd.endpoints: lists 33 endpoints, over the limit of 32"])
        #expect(Support.problems(Self.etcd(#"endpoints: ["http://a:2379", foo, "ftp://b:21", "http://c", "http://u:p@d:2379", "http://e:2379/v3", 7]"#)) == [
            #"agent.etcd.endpoints[1]: "foo" is not an http(s) URL"#,
            #"agent.etcd.endpoints[2]: "ftp://b:21" is not an http(s) URL"#,
            #"agent.etcd.endpoints[3]: "http://c" has no port (etcd's client port is usually 2379)"#,
            #"agent.etcd.endpoints[4]: "http://u:p@d:2379" must be scheme://host:port only (credentials go in username and password_file)"#,
            #"agent.etcd.endpoints[5]: "http://e:2379/v3" must be scheme://host:port only (credentials go in username and password_file)"#,
            #"agent.etcd.endpoints[6]: expected a string, got a number (quote it: "7")"#,
        ])
    }

    @Test("tls requires https endpoints")
    func tlsNeedsHTTPS() {
        #expect(Support.problems(Self.etcd(#"endpoints: ["https://a:2379", "http://b:2379"]"#, "tls: { ca_file: /ca.pem }")) == [
            #"agent.etcd.endpoints[1]: "http://b:2379" is not https, but agent.etcd.tls is set (use https:// or remove tls)"#,
        ])
    }

    @Test("prefix: starts with /, no trailing /, no //, printable ASCII, at most 256 bytes")
    func prefix() {
        let cases: [(String, String)] = [
            ("procmgr", #"agent.etcd.prefix: "procmgr" must start with "/" (e.g. /procmgr)"#),
            ("/procmgr/", #"agent.etcd.prefix: "/procmgr/" must not end with "/" (the keys below it add their own)"#),
            ("/", #"agent.etcd.prefix: "/" must not end with "/" (the keys below it add their own)"#),
            ("/a//b", #"agent.etcd.prefix: "/a//b" contains "//" (an empty key segment)"#),
            ("\"/a b\"", #"agent.etcd.prefix: "/a b" must be printable ASCII without spaces"#),
            ("/caf\u{E9}", #"agent.etcd.prefix: "/caf\#u{E9}" must be printable ASCII without spaces"#),
            ("/" + String(repeating: "x", count: 256), "agent.etcd.prefix: is 257 bytes, over the limit of 256"),
        ]
        for (value, message) in cases {
            #expect(Support.problems(Self.etcd(Self.endpoint, "prefix: \(value)")) == [message])
        }
        #expect(Support.problems(Self.etcd(Self.endpoint, "prefix: /" + String(repeating: "x", count: 255))) == [])
    }

    @Test("node: [A-Za-z0-9._-]{1,253}")
    func node() {
        #expect(Support.problems(Self.etcd(Self.endpoint, "node: \"web 1\"")) == [
            #"agent.etcd.node: "web 1" is not a node name (1-253 characters of A-Z a-z 0-9 . _ -)"#,
        ])
        #expect(Support.problems(Self.etcd(Self.endpoint, "node: \"\"")) == [
            #"agent.etcd.node: "" is not a node name (1-253 characters of A-Z a-z 0-9 . _ -)"#,
        ])
        #expect(Support.problems(Self.etcd(Self.endpoint, "node: " + String(repeating: "n", count: 254))).count == 1)
        #expect(Support.problems(Self.etcd(Self.endpoint, "node: " + String(repeating: "n", count: 253))) == [])
    }

    /// The `agent.etcd` problems (or settings) with `hostName` standing in for gethostname.
    private func validate(_ text: String, hostName: String?) throws -> (AgentSettings?, [String]) {
        let root = try ConfigLoader.parseNodes(data: Data(text.utf8), format: .yaml)
        var problems = Problems()
        let settings = AgentValidator(baseDirectory: nil, hostName: { hostName }).validate(root["agent"], problems: &problems)
        return (settings, problems.list.map(\.description))
    }

    @Test("a host name that is not a node name tells the operator to set agent.etcd.node")
    func badHostName() throws {
        #expect(try validate(Self.etcd(Self.endpoint), hostName: "my host").1 == [
            #"agent.etcd.node: the host name "my host" is not a node name (1-253 characters of A-Z a-z 0-9 . _ -); set agent.etcd.node"#,
        ])
        #expect(try validate(Self.etcd(Self.endpoint), hostName: nil).1 == [
            "agent.etcd.node: the host name cannot be read; set agent.etcd.node",
        ])
        #expect(try validate(Self.etcd(Self.endpoint, "node: n1"), hostName: "my host").1 == [])
        #expect(try validate(Self.etcd(Self.endpoint), hostName: "box-7").0?.etcd?.node == "box-7")
    }

    @Test("lease_ttl: a duration from 2s to 1h")
    func leaseTTL() {
        #expect(Support.problems(Self.etcd(Self.endpoint, "lease_ttl: 1s")) == [#"agent.etcd.lease_ttl: "1s" is not between 2s and 1h"#])
        #expect(Support.problems(Self.etcd(Self.endpoint, "lease_ttl: 61m")) == [#"agent.etcd.lease_ttl: "61m" is not between 2s and 1h"#])
        #expect(Support.problems(Self.etcd(Self.endpoint, "lease_ttl: 10")) == [
            "agent.etcd.lease_ttl: 10 is not a duration (e.g. 500ms, 10s, 2m)",
        ])
        #expect(Support.problems(Self.etcd(Self.endpoint, "lease_ttl: 2s")) == [])
        #expect(Support.problems(Self.etcd(Self.endpoint, "lease_ttl: 1h")) == [])
    }

    @Test("username and password_file come together")
    func credentials() {
        #expect(Support.problems(Self.etcd(Self.endpoint, "username: procmgr")) == [
            "agent.etcd.username: requires agent.etcd.password_file (the file holding the user's password)",
        ])
        #expect(Support.problems(Self.etcd(Self.endpoint, "password_file: /p")) == ["agent.etcd.password_file: requires agent.etcd.username"])
        #expect(Support.problems(Self.etcd(Self.endpoint, "username: \"\"", "password_file: /p")) == ["agent.etcd.username: must not be empty"])
        #expect(Support.problems(Self.etcd(Self.endpoint, "username: u", "password_file: /p")) == [])
    }

    @Test("tls: known keys, cert and key together")
    func tls() {
        let https = #"endpoints: ["https://a:2379"]"#
        #expect(Support.problems(Self.etcd(https, "tls: { cert_file: /c.pem }")) == [
            "agent.etcd.tls.cert_file: requires agent.etcd.tls.key_file (a client certificate needs its key)",
        ])
        #expect(Support.problems(Self.etcd(https, "tls: { key_file: /k.pem }")) == [
            "agent.etcd.tls.key_file: requires agent.etcd.tls.cert_file (a client key needs its certificate)",
        ])
        #expect(Support.problems(Self.etcd(https, "tls: { ca: /ca.pem }")) == [
            "agent.etcd.tls.ca: unknown key (expected one of: ca_file, cert_file, key_file)",
        ])
        #expect(Support.problems(Self.etcd(https, "tls: /ca.pem")) == [#"agent.etcd.tls: expected a mapping, got a string"#])
        #expect(Support.problems(Self.etcd(https, "tls: { cert_file: /c.pem, key_file: /k.pem }")) == [])
    }

    @Test("api_url and cache_file")
    func apiURLAndCache() {
        #expect(Support.problems(Self.etcd(Self.endpoint, "api_url: 10.0.0.5:9464")) == [#"agent.etcd.api_url: "10.0.0.5:9464" is not an http(s) URL"#])
        #expect(Support.problems(Self.etcd(Self.endpoint, "cache_file: \"\"")) == ["agent.etcd.cache_file: must not be empty"])
        #expect(Support.problems(Self.etcd(Self.endpoint, "lease: 5s")) == [
            "agent.etcd.lease: unknown key (expected one of: endpoints, prefix, node, lease_ttl, username, password_file, tls, cache_file, api_url); did you mean lease_ttl?",
        ])
    }

    @Test("admin and etcd together: one problem on agent.etcd")
    func oneSource() {
        let text = "agent:\n  admin: { url: \"http://127.0.0.1:8080/instances\" }\n  etcd: { endpoints: [\"http://127.0.0.1:2379\"] }\n"
        #expect(Support.problems(text) == [
            "agent.etcd: agent.admin is also set, but only one desired-state source may be set: remove agent.admin or agent.etcd",
        ])
    }

    @Test("files: password_file like token_file, TLS files must exist (filesystem scope only)")
    func files() throws {
        try Support.withTemporaryDirectory { dir in
            let text = Self.etcd(#"endpoints: ["https://a:2379"]"#, "username: u", "password_file: etcd-password",
                                 "tls: { ca_file: ca.pem, cert_file: c.pem, key_file: k.pem }")
            try Support.write(text, to: dir + "/p.yaml")
            func problems() -> [String] {
                do {
                    _ = try ConfigLoader.load(path: dir + "/p.yaml", scope: .schemaAndFilesystem)
                    return []
                } catch {
                    return error.lines
                }
            }
            #expect(throws: Never.self) { try ConfigLoader.load(path: dir + "/p.yaml") }
            #expect(problems() == [
                "agent.etcd.password_file: \(dir)/etcd-password: no such file",
                "agent.etcd.tls.ca_file: \(dir)/ca.pem: no such file",
                "agent.etcd.tls.cert_file: \(dir)/c.pem: no such file",
                "agent.etcd.tls.key_file: \(dir)/k.pem: no such file",
            ])
            try Support.write("\n", to: dir + "/etcd-password")
            try FileManager.default.createDirectory(atPath: dir + "/ca.pem", withIntermediateDirectories: true)
            try Support.write("cert", to: dir + "/c.pem")
            try Support.write("key", to: dir + "/k.pem")
            #expect(problems() == [
                "agent.etcd.password_file: \(dir)/etcd-password: is empty (put the etcd user's password in it)",
                "agent.etcd.tls.ca_file: \(dir)/ca.pem: is a directory, not a regular file",
            ])
            try Support.write("s3cret\n", to: dir + "/etcd-password")
            try FileManager.default.removeItem(atPath: dir + "/ca.pem")
            try Support.write("ca", to: dir + "/ca.pem")
            #expect(problems() == [])
        }
    }

    @Test("agent.etcd renders into the schema and loads back equal")
    func roundTrip() throws {
        let config = try Support.load(Self.etcd(
            #"endpoints: ["https://etcd-1:2379", "https://etcd-2:2379"]"#, "node: n1", "username: u", "password_file: /p",
            "tls: { ca_file: /ca.pem }", "api_url: \"http://10.0.0.5:9464\"") + "processes:\n  - id: web\n    port: none\n", base: "/srv")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reloaded = try ConfigLoader.parse(data: encoder.encode(config), format: .json)
        #expect(reloaded.agent == config.agent)
        #expect(reloaded.overrides == config.overrides)
        #expect(config.configNode["agent"]?["etcd"]?["lease_ttl"]?.stringValue == "10s")
        #expect(config.configNode["agent"]?["etcd"]?["prefix"]?.stringValue == "/procmgr")
        #expect(try JSONDecoder().decode(AgentConfig.self, from: encoder.encode(config)).agent == config.agent)
    }

    @Test("procmgr validate names the etcd source and its keys")
    func validateReport() throws {
        try Support.withTemporaryDirectory { dir in
            try Support.write(Self.etcd(Self.endpoint, "node: n1") + "processes:\n  - id: web\n    port: none\n", to: dir + "/p.yaml")
            let report = ConfigValidation.report(path: dir + "/p.yaml")
            #expect(report.ok)
            #expect(report.lines == [
                "\(dir)/p.yaml: valid, etcd source http://127.0.0.1:2379 node n1, 1 local override",
                "agent: listen 127.0.0.1:9464, ports 30000-31000, state_dir \(dir)/.procmgr, orphans kill",
                "etcd keys /procmgr/nodes/n1/processes/ and /procmgr/all/processes/: validated when read",
            ])
        }
    }
}
