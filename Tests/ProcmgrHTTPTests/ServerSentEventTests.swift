import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport
import ProcmgrTestKit
import Testing

@Suite("Server-Sent Events: /api/v1/events and followed logs", .timeLimit(.minutes(2)))
struct ServerSentEventTests {
    static func configuration(
        keepAlive: Duration = .seconds(15), maxConnections: Int = ConnectionBudget.defaultMaxConnections,
        idleTimeout: Duration = .seconds(30)
    ) -> APIServerConfiguration {
        var configuration = APIServerConfiguration(
            host: "127.0.0.1", port: 0, maxConnections: maxConnections, idleTimeout: idleTimeout)
        configuration.keepAliveInterval = keepAlive
        return configuration
    }

    static func event(_ process: String, _ message: String) -> AgentEvent {
        var event = AgentEvent(type: .state, process: process, message: message, time: 1_765_000_000.125)
        event.from = "starting"
        event.to = "running"
        return event
    }

    /// The decoded `data:` objects of the frames named `event`.
    static func payloads(_ connection: StreamConnection, event name: String) throws -> [[String: Any]] {
        try serverSentEvents(connection.body).filter { $0["event"] == name }.map { frame in
            let data = try #require(frame["data"])
            return try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
        }
    }

    @Test("the head: 200, text/event-stream, no-cache, X-Accel-Buffering: no, then retry: 1000")
    func head() async throws {
        try await withServedAPI(configuration: Self.configuration()) { port in
            let stream = try StreamConnection(port: port, get: "/api/v1/events")
            let text = try await stream.read(untilBodyContains: "retry: 1000\n\n")
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.lowercased().contains("content-type: text/event-stream; charset=utf-8\r\n"))
            #expect(text.lowercased().contains("cache-control: no-cache\r\n"))
            #expect(text.lowercased().contains("x-accel-buffering: no\r\n"))
        }
    }

    @Test("without Last-Event-ID only new events; with it the kept ones after it, then live ones, in order")
    func replayThenLive() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withServedAPI(backend: backend, configuration: Self.configuration()) { port in
            for index in 1...3 { backend.events.publish(Self.event("api-1", "old \(index)")) }
            let fresh = try StreamConnection(port: port, get: "/api/v1/events")
            let resumed = try StreamConnection(port: port, get: "/api/v1/events", headers: ["Last-Event-ID: 1"])
            try await fresh.read(untilBodyContains: "retry: 1000\n\n")
            try await resumed.read(untilBodyContains: "\"old 3\"")
            try await eventually("both streams subscribed") { backend.events.ring.subscriberCount == 2 }
            for index in 4...6 { backend.events.publish(Self.event("api-1", "new \(index)")) }
            for stream in [fresh, resumed] { try await stream.read(untilBodyContains: "\"new 6\"") }
            #expect(serverSentEvents(fresh.body).compactMap { $0["id"] } == ["4", "5", "6"])
            #expect(serverSentEvents(resumed.body).compactMap { $0["id"] } == ["2", "3", "4", "5", "6"])
            let last = try #require(try Self.payloads(resumed, event: "state").last)
            #expect(last["id"] as? Int == 6)
            #expect(last["type"] as? String == "state")
            #expect(last["process"] as? String == "api-1")
            #expect(last["from"] as? String == "starting")
            #expect(last["message"] as? String == "new 6")
            #expect(last["time"] as? Double == 1_765_000_000.125)
        }
    }

    @Test("a Last-Event-ID older than the ring: a missed event first, then what is kept")
    func missed() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withServedAPI(backend: backend, configuration: Self.configuration()) { port in
            let total = EventJournal.defaultCapacity + 10
            for index in 1...total { backend.events.publish(Self.event("api-1", "event \(index)")) }
            let stream = try StreamConnection(port: port, get: "/api/v1/events", headers: ["Last-Event-ID: 3"])
            try await stream.read(untilBodyContains: "\"event \(total)\"")
            let frames = serverSentEvents(stream.body)
            #expect(frames.first?["event"] == "missed")
            #expect(frames.first?["id"] == nil)
            let missed = try #require(try Self.payloads(stream, event: "missed").first)
            #expect(missed["type"] as? String == "missed")
            #expect(missed["requested"] as? Int == 3)
            #expect(missed["oldest"] as? Int == 11)
            #expect(missed["message"] as? String == "events 4…10 are no longer kept")
            #expect(frames.dropFirst().compactMap { $0["id"] } == (11...total).map(String.init))
        }
    }

    @Test("Last-Event-ID that is not a decimal UInt64 → 400 JSON on both streams", arguments: [
        // (" 5" is 5: HTTP strips a header value's surrounding whitespace before anyone sees it.)
        "abc", "-1", "+5", "5 6", "0x10", "1.0", "18446744073709551616", "",
    ])
    func garbageLastEventID(_ value: String) async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend) { client in
            for uri in ["/api/v1/events", "/api/v1/processes/api-1/logs?follow=true"] {
                var headers: HTTPFields = [:]
                headers[try #require(HTTPField.Name("Last-Event-ID"))] = value
                let response = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(response.status == .badRequest, "\(uri) with \(value.debugDescription)")
                #expect(try response.errorMessage().contains("Last-Event-ID"))
            }
            #expect(backend.events.ring.subscriberCount == 0)
        }
    }

    @Test("unknown process in the events filter or a follow → 404 JSON; follow=maybe → 400")
    func badInput() async throws {
        let backend = FakeBackend(processes: [process("api-1")], logs: ["api-1": []])
        try await withLiveServer(backend: backend) { client in
            let unknownFilter = try await client.execute(uri: "/api/v1/events?process=nope", method: .get)
            #expect(unknownFilter.status == .notFound)
            #expect(try unknownFilter.errorMessage().contains("nope"))
            let unknownFollow = try await client.execute(uri: "/api/v1/processes/nope/logs?follow=true", method: .get)
            #expect(unknownFollow.status == .notFound)
            _ = try unknownFollow.errorMessage()
            let badFollow = try await client.execute(uri: "/api/v1/processes/api-1/logs?follow=maybe", method: .get)
            #expect(badFollow.status == .badRequest)
            #expect(try badFollow.errorMessage() == "follow must be true or false")
            let plain = try await client.execute(uri: "/api/v1/processes/api-1/logs?follow=false", method: .get)
            #expect(plain.status == .ok)
            #expect(plain.headers[.contentType] == "application/json; charset=utf-8")
        }
    }

    @Test("the process filter keeps only that process's events")
    func processFilter() async throws {
        let backend = FakeBackend(processes: [process("api-1"), process("web-1")])
        try await withServedAPI(backend: backend, configuration: Self.configuration()) { port in
            let stream = try StreamConnection(port: port, get: "/api/v1/events?process=web-1")
            try await stream.read(untilBodyContains: "retry: 1000\n\n")
            try await eventually("subscribed") { backend.events.ring.subscriberCount == 1 }
            backend.events.publish(Self.event("api-1", "not this"))
            backend.events.publish(Self.event("web-1", "this"))
            backend.events.publish(AgentEvent(type: .reload, message: "not this either"))
            backend.events.publish(Self.event("web-1", "and this"))
            try await stream.read(untilBodyContains: "\"and this\"")
            #expect(serverSentEvents(stream.body).compactMap { $0["id"] } == ["2", "4"])
        }
    }

    @Test("a followed log: the tail, then lines appended concurrently, none lost, in order")
    func followConcurrentAppends() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let ring = StreamRing<OutputLine>(capacity: 100, subscriberBuffer: 100_000)
        backend.setOutputRing(ring, for: "api-1")
        for index in 1...10 { ring.append(OutputLine(stream: .stdout, text: "line \(index)")) }
        try await withServedAPI(backend: backend, configuration: Self.configuration()) { port in
            let stream = try StreamConnection(port: port, get: "/api/v1/processes/api-1/logs?follow=true&tail=3")
            try await stream.read(untilBodyContains: "\"line 10\"")
            try await eventually("subscribed") { ring.subscriberCount == 1 }
            let total = 20_000
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<2 {
                    group.addTask {
                        for index in stride(from: 11 + writer, through: total, by: 2) {
                            ring.append(OutputLine(stream: writer == 0 ? .stdout : .stderr, text: "line \(index) \"q\" \\ \u{1}"))
                        }
                    }
                }
            }
            try await stream.read(untilBodyContains: "{\"id\":\(total),", timeout: .seconds(60))
            let frames = serverSentEvents(stream.body)
            #expect(frames.compactMap { $0["id"] } == (8...total).map(String.init))
            #expect(frames.allSatisfy { $0["event"] == "line" })
            let last = try #require(try Self.payloads(stream, event: "line").last)
            #expect(last["id"] as? Int == total)
            #expect((last["text"] as? String)?.hasSuffix(" \"q\" \\ \u{1}") == true)
            #expect(["stdout", "stderr"].contains(last["stream"] as? String))
        }
    }

    @Test("a followed log resumes after Last-Event-ID instead of the tail")
    func followResume() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let ring = backend.outputRing("api-1")
        for index in 1...20 { ring.append(OutputLine(stream: .stdout, text: "line \(index)")) }
        try await withServedAPI(backend: backend, configuration: Self.configuration()) { port in
            let stream = try StreamConnection(
                port: port, get: "/api/v1/processes/api-1/logs?follow=true&tail=2", headers: ["Last-Event-ID: 15"])
            try await stream.read(untilBodyContains: "\"line 20\"")
            #expect(serverSentEvents(stream.body).compactMap { $0["id"] } == ["16", "17", "18", "19", "20"])
        }
    }

    @Test("a client that reads nothing is dropped and counted; its buffer is released")
    func stuckClientDropped() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let registry = MetricsRegistry()
        let ring = backend.outputRing("api-1")
        try await withServedAPI(backend: backend, registry: registry, configuration: Self.configuration()) { port in
            let stuck = try StreamConnection(port: port, get: "/api/v1/processes/api-1/logs?follow=true")
            try await eventually("subscribed") { ring.subscriberCount == 1 }
            let line = String(repeating: "x", count: 16 * 1024)
            var appended = 0
            // Socket buffers take a few MiB; after that the stream blocks and the ring drops it.
            try await eventually("the stuck stream dropped (\(appended) lines appended)", timeout: .seconds(60)) {
                for _ in 0..<64 { ring.append(OutputLine(stream: .stdout, text: line)) }
                appended += 64
                return ring.subscriberCount == 0
            }
            try await eventually("counted") { sample(#"procmgr_http_stream_dropped_total{stream="logs"}"#, in: registry) == "1" }
            try await eventually("the stream's slot released") { sample(#"procmgr_http_streams{stream="logs"}"#, in: registry) == "0" }
            #expect(sample(#"procmgr_http_stream_dropped_total{stream="events"}"#, in: registry) == "0")
            _ = try await stuck.readUntilClosed(timeout: .seconds(30))
        }
    }

    @Test("an idle stream gets ': keep-alive' from the shared ticker")
    func keepAlive() async throws {
        try await withServedAPI(configuration: Self.configuration(keepAlive: .milliseconds(50))) { port in
            let stream = try StreamConnection(port: port, get: "/api/v1/events")
            try await stream.read(untilBodyContains: ": keep-alive\n\n")
            try await stream.read(until: "a second keep-alive") { $0.body.components(separatedBy: ": keep-alive\n\n").count > 2 }
        }
    }

    @Test("a client that disconnects: its subscription is cancelled and its slot released")
    func disconnectCancels() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let registry = MetricsRegistry()
        let ring = backend.outputRing("api-1")
        try await withServedAPI(backend: backend, registry: registry, configuration: Self.configuration(keepAlive: .milliseconds(50))) { port in
            let streams = try (0..<3).map { _ in try StreamConnection(port: port, get: "/api/v1/processes/api-1/logs?follow=true") }
            let events = try StreamConnection(port: port, get: "/api/v1/events")
            for stream in streams + [events] { try await stream.read(untilBodyContains: "retry: 1000\n\n") }
            try await eventually("subscribed") { ring.subscriberCount == 3 && backend.events.ring.subscriberCount == 1 }
            #expect(sample(#"procmgr_http_streams{stream="logs"}"#, in: registry) == "3")
            for stream in streams + [events] { stream.disconnect() }
            try await eventually("unsubscribed") { ring.subscriberCount == 0 && backend.events.ring.subscriberCount == 0 }
            try await eventually("released") {
                sample(#"procmgr_http_streams{stream="logs"}"#, in: registry) == "0"
                    && sample(#"procmgr_http_streams{stream="events"}"#, in: registry) == "0"
            }
        }
    }

    @Test("a stream outlives the idle timeout: a response in progress is not idle")
    func outlivesIdleTimeout() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let idle = Duration.milliseconds(300)
        try await withServedAPI(backend: backend, configuration: Self.configuration(idleTimeout: idle)) { port in
            let stream = try StreamConnection(port: port, get: "/api/v1/events")
            try await stream.read(untilBodyContains: "retry: 1000\n\n")
            // A connection opened after the stream and closed as idle: the stream has been open
            // longer than the idle timeout by then.
            let control = try RawConnection(port: port)
            _ = try await control.readUntilClosed(timeout: .seconds(10))
            backend.events.publish(Self.event("api-1", "still here"))
            try await stream.read(untilBodyContains: "\"still here\"")
        }
    }

    @Test("HEAD on the stream routes answers the head and ends; no stream is left open")
    func headRequest() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let registry = MetricsRegistry()
        try await withServedAPI(backend: backend, registry: registry, configuration: Self.configuration()) { port in
            for path in ["/api/v1/events", "/api/v1/processes/api-1/logs?follow=true"] {
                let connection = try StreamConnection(
                    port: port, request: "HEAD \(path) HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                let text = try await connection.readUntilClosed()
                #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(path): \(text)")
                #expect(text.contains("text/event-stream"))
                // Nothing between the head and the next response (no stray chunk terminator).
                #expect(text.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "\(path): \(text)")
                #expect(text.hasSuffix(#"{"status":"ok"}"#), "\(path): the next request on the connection was not answered: \(text)")
            }
            try await eventually("no stream open") {
                sample(#"procmgr_http_streams{stream="events"}"#, in: registry) == "0"
                    && sample(#"procmgr_http_streams{stream="logs"}"#, in: registry) == "0"
            }
            #expect(backend.events.ring.subscriberCount == 0)
        }
    }

    @Test("at the stream cap a new stream gets 503 JSON, and /metrics still answers")
    func streamCap() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        let registry = MetricsRegistry()
        let configuration = Self.configuration(maxConnections: 16)
        try await withServedAPI(backend: backend, registry: registry, configuration: configuration) { port in
            // 16 connections keep 8 from streams.
            let open = try (0..<8).map { _ in try StreamConnection(port: port, get: "/api/v1/events") }
            for stream in open { try await stream.read(untilBodyContains: "retry: 1000\n\n") }
            let refused = try StreamConnection(port: port, get: "/api/v1/events")
            let text = try await refused.read(until: "a 503") { $0.text.contains("}") }
            #expect(text.hasPrefix("HTTP/1.1 503"))
            #expect(text.contains("too many open event streams (at most 8)"))
            for _ in 0..<3 {
                let scrape = try StreamConnection(port: port, get: "/metrics", headers: ["Connection: close"])
                let answer = try await scrape.readUntilClosed()
                #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
            }
            #expect(sample(#"procmgr_http_streams{stream="events"}"#, in: registry) == "8")
        }
    }

    @Test("POST /signal: authorised like restart, name parsed after, precise 400, 404 for unknown ids")
    func signal() async throws {
        let backend = FakeBackend(processes: [process("api-1")])
        try await withLiveServer(backend: backend) { client in
            for name in ["HUP", "sigterm", "Usr1"] {
                let response = try await client.execute(uri: "/api/v1/processes/api-1/signal?name=\(name)", method: .post)
                #expect(response.status == .ok, "\(name)")
                #expect(response.text == #"{"result":"success"}"#)
            }
            #expect(backend.actions == ["signal api-1 HUP", "signal api-1 TERM", "signal api-1 USR1"])
            for query in ["", "?name=", "?name=SEGV", "?name=9"] {
                let response = try await client.execute(uri: "/api/v1/processes/api-1/signal\(query)", method: .post)
                #expect(response.status == .badRequest, "\(query)")
                #expect(try response.errorMessage() == "query parameter name must be one of HUP, INT, QUIT, USR1, USR2, TERM, KILL, WINCH, CONT, STOP, ALRM (with or without SIG, any case)")
            }
            let unknown = try await client.execute(uri: "/api/v1/processes/nope/signal?name=HUP", method: .post)
            #expect(unknown.status == .notFound)
        }
        try await withLiveServer(backend: backend, token: "s3cret") { client in
            let response = try await client.execute(uri: "/api/v1/processes/api-1/signal?name=bogus", method: .post)
            #expect(response.status == .unauthorized, "the name must not be judged before the token")
        }
    }
}

/// Raises the soft descriptor limit to at least `count` (up to the hard limit) for a test that
/// holds many connections from both ends.
func raiseDescriptorLimit(to count: Int) throws {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    guard limit.rlim_cur < rlim_t(count) else { return }
    try #require(limit.rlim_max >= rlim_t(count), "the hard descriptor limit \(limit.rlim_max) is below \(count)")
    limit.rlim_cur = rlim_t(count)
    try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
}
