import Foundation
@testable import ProcmgrHTTP
import Testing

/// The cross-site guard: what ``OriginCheck`` decides, and that every mutation and output read
/// goes through it on the wire while scrapes and status reads stay open.
@Suite("Cross-site requests", .timeLimit(.minutes(1)))
struct OriginCheckTests {
    private static func check(host listener: String = "127.0.0.1", token: String? = nil) -> OriginCheck {
        OriginCheck(policy: MutationPolicy(host: listener, token: APIToken(token)))
    }

    /// The scheme is not compared: behind a TLS-terminating proxy the page's origin is `https://`
    /// with the proxy's name in `Host`, and no other site can serve a page from this host and port.
    @Test("the agent's own origin passes; scheme default ports count as written", arguments: [
        ("http://127.0.0.1:9464", "127.0.0.1:9464"), ("HTTP://LOCALHOST:9464", "localhost:9464"),
        ("http://[::1]:9464", "[::1]:9464"), ("http://localhost", "localhost:80"), ("http://localhost:80", "localhost"),
        ("https://localhost", "localhost:443"), ("https://agent.example", "agent.example"),
    ])
    func sameOrigin(_ origin: String, _ host: String) {
        // With a token: this is about the origin alone, not the tokenless Host rule.
        #expect(Self.check(token: "s3cret").check(origins: [origin], fetchSite: "same-origin", host: host) == .allow)
    }

    @Test("another origin is refused, naming it", arguments: [
        ("http://evil.example", "127.0.0.1:9464"), ("http://127.0.0.1:8080", "127.0.0.1:9464"), ("null", "127.0.0.1:9464"),
        ("http://127.0.0.1:9464", nil), ("file://", "127.0.0.1:9464"), ("http://127.0.0.1:9464.evil.example", "127.0.0.1:9464"),
    ])
    func otherOrigin(_ origin: String, _ host: String?) throws {
        let verdict = Self.check().check(origins: [origin], fetchSite: nil, host: host)
        guard case .refuse(let message) = verdict else {
            Issue.record("\(origin) on \(host ?? "no Host") was allowed")
            return
        }
        #expect(message.hasPrefix("cross-site request refused: Origin \(origin) is not this agent's own"))
    }

    @Test("Sec-Fetch-Site: cross-site is refused even without Origin; same-site and none pass")
    func fetchSite() {
        #expect(Self.check().check(origins: [], fetchSite: "cross-site", host: "127.0.0.1:9464")
            == .refuse("cross-site request refused (Sec-Fetch-Site: cross-site): act on this agent from its own page or a client that is not a browser"))
        #expect(Self.check().check(origins: [], fetchSite: "Cross-Site", host: "127.0.0.1:9464") != .allow)
        #expect(Self.check().check(origins: [], fetchSite: "same-site", host: "127.0.0.1:9464") == .allow)
        #expect(Self.check().check(origins: [], fetchSite: "none", host: "127.0.0.1:9464") == .allow)
    }

    @Test("no Origin (curl, the CLI) passes")
    func noOrigin() {
        #expect(Self.check().check(origins: [], fetchSite: nil, host: "127.0.0.1:9464") == .allow)
        #expect(Self.check().check(origins: [], fetchSite: nil, host: nil) == .allow)
    }

    @Test("every Origin header must be the agent's own")
    func severalOrigins() {
        #expect(Self.check().check(origins: ["http://127.0.0.1:9464", "http://evil.example"], fetchSite: nil, host: "127.0.0.1:9464") != .allow)
    }

    @Test("a tokenless loopback listener answers loopback names only (DNS rebinding)", arguments: [
        ("evil.example", false), ("evil.example:9464", false), ("localhost.evil.example:9464", false), ("10.0.0.1:9464", false),
        ("localhost:9464", true), ("127.0.0.1:9464", true), ("127.1.2.3", true), ("[::1]:9464", true), ("LOCALHOST", true),
    ])
    func rebinding(_ host: String, _ allowed: Bool) {
        let verdict = Self.check().check(origins: [], fetchSite: nil, host: host)
        #expect((verdict == .allow) == allowed)
        if case .refuse(let message) = verdict {
            #expect(message.hasPrefix("request refused: Host \(host) is not a loopback name"))
        }
    }

    @Test("with a token, or on a network listener, any Host passes (the token, or the policy, guards)")
    func rebindingNeedsTokenlessLoopback() {
        #expect(Self.check(token: "s3cret").check(origins: [], fetchSite: nil, host: "evil.example") == .allow)
        #expect(Self.check(host: "0.0.0.0").check(origins: [], fetchSite: nil, host: "evil.example") == .allow)
    }

    @Test("Host without its port", arguments: [
        ("127.0.0.1:9464", "127.0.0.1"), ("[::1]:9464", "::1"), ("[::1]", "::1"), ("localhost", "localhost"), ("::1", "::1"),
    ])
    func hostName(_ host: String, _ name: String) {
        #expect(OriginCheck.hostName(of: host) == name)
    }

    // MARK: On the wire

    private static let processes = [process("api-1")]
    private static let logs = ["api-1": [LogLineView(stream: "stdout", text: "hello")]]

    /// One raw request (the test controls `Host`, which HTTP clients set themselves).
    private static func send(
        _ port: Int, _ method: String, _ path: String, host: String? = nil, _ headers: [String] = []
    ) async throws -> (status: Int, response: String) {
        let lines = ["\(method) \(path) HTTP/1.1", "Host: \(host ?? "127.0.0.1:\(port)")", "Connection: close"] + headers
        let response = try await rawExchange(port: port, sending: Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8))
        let status = try #require(Int(response.split(separator: " ").dropFirst().first ?? ""), "no status in \(response)")
        return (status, response)
    }

    private static let guarded: [(String, String)] = [
        ("POST", "/api/v1/processes/api-1/restart"), ("POST", "/api/v1/processes/api-1/stop"),
        ("POST", "/api/v1/processes/api-1/scale?replicas=2"), ("POST", "/-/reload"),
        ("GET", "/api/v1/processes/api-1/logs"), ("GET", "/api/v1/processes/api-1/logs?follow=true"),
    ]
    private static let open: [String] = ["/", "/metrics", "/healthz", "/readyz", "/api/v1/processes", "/api/v1/processes/api-1"]

    @Test("mutations and log reads: cross-site Origin or Sec-Fetch-Site → 403 JSON, nothing done; same origin and curl pass")
    func crossSiteOnTheWire() async throws {
        let backend = FakeBackend(processes: Self.processes, logs: Self.logs)
        try await withServedAPI(backend: backend) { port in
            for (method, path) in Self.guarded {
                for header in ["Origin: http://evil.example", "Sec-Fetch-Site: cross-site", "Origin: null"] {
                    let (status, response) = try await Self.send(port, method, path, [header])
                    #expect(status == 403, "\(method) \(path) with \(header)")
                    #expect(response.contains(#"{"error":"cross-site request refused"#), "\(response)")
                    #expect(!response.lowercased().contains("access-control-"))
                }
            }
            #expect(backend.actions.isEmpty)
            for (method, path) in Self.guarded where !path.contains("follow") {
                #expect(try await Self.send(port, method, path, ["Origin: http://127.0.0.1:\(port)", "Sec-Fetch-Site: same-origin"]).status == 200, "\(path)")
                #expect(try await Self.send(port, method, path).status == 200, "\(path) without Origin")
            }
            for path in Self.open {
                #expect(try await Self.send(port, "GET", path, ["Origin: http://evil.example", "Sec-Fetch-Site: cross-site"]).status == 200, "\(path)")
            }
        }
    }

    @Test("tokenless loopback: Host evil.example → 403 on mutations and log reads; scrapes and status reads stay open")
    func rebindingOnTheWire() async throws {
        let backend = FakeBackend(processes: Self.processes, logs: Self.logs)
        try await withServedAPI(backend: backend) { port in
            for (method, path) in Self.guarded {
                let (status, response) = try await Self.send(port, method, path, host: "evil.example:\(port)")
                #expect(status == 403, "\(method) \(path)")
                #expect(response.contains(#"{"error":"request refused: Host evil.example:\#(port) is not a loopback name"#), "\(response)")
            }
            #expect(backend.actions.isEmpty)
            for path in Self.open {
                #expect(try await Self.send(port, "GET", path, host: "evil.example:\(port)").status == 200, "\(path)")
            }
            #expect(try await Self.send(port, "POST", "/-/reload", host: "localhost:\(port)").status == 200)
        }
        let withToken = APIServerConfiguration(host: "127.0.0.1", port: 0, token: "s3cret")
        try await withServedAPI(backend: backend, configuration: withToken) { port in
            let (status, _) = try await Self.send(port, "POST", "/-/reload", host: "evil.example", ["Authorization: Bearer s3cret"])
            #expect(status == 200)
        }
    }

    @Test("no CORS: a preflight gets no Access-Control-* header, nor does any answer")
    func noCORS() async throws {
        try await withServedAPI(backend: FakeBackend(processes: Self.processes, logs: Self.logs)) { port in
            let preflight = [
                "Origin: http://evil.example", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization",
            ]
            for path in ["/api/v1/processes/api-1/restart", "/", "/api/v1/processes"] {
                let (status, response) = try await Self.send(port, "OPTIONS", path, preflight)
                #expect(status == 405, "\(path)")
                #expect(!response.lowercased().contains("access-control-"), "\(response)")
            }
            for path in Self.open {
                let (_, response) = try await Self.send(port, "GET", path, ["Origin: http://evil.example"])
                #expect(!response.lowercased().contains("access-control-"), "\(path)")
            }
        }
    }
}
