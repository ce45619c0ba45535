import Foundation
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrTestKit
import Testing

/// The API cannot be starved: at the cap the longest-idle connection makes room for a new one,
/// a newcomer finds every slot busy only when requests are in progress (503 and close), idle and
/// trickling connections are closed after the idle timeout, and `/healthz` keeps answering.
/// Real sockets over loopback against the server as the agent runs it.
@Suite("Connection cap and idle timeout", .timeLimit(.minutes(1)))
struct ConnectionLimitTests {
    static let openSeries = "procmgr_http_open_connections"

    static func configuration(maxConnections: Int, idleTimeout: Duration) -> APIServerConfiguration {
        APIServerConfiguration(host: "127.0.0.1", port: 0, maxConnections: maxConnections, idleTimeout: idleTimeout)
    }

    @Test("at the cap a new connection takes the place of the longest-idle one; /healthz keeps answering")
    func capEvictsIdle() async throws {
        let registry = MetricsRegistry()
        try await withServedAPI(registry: registry, configuration: Self.configuration(maxConnections: 8, idleTimeout: .seconds(30))) { port in
            var idle: [RawConnection] = []
            for count in 1...8 {
                idle.append(try RawConnection(port: port))
                // One at a time, so their order of arrival is their order of idleness.
                try await eventually("\(count) connections open") { sample(Self.openSeries, in: registry) == "\(count)" }
            }
            for round in 0..<3 {
                let fresh = try RawConnection(port: port)
                fresh.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                let reply = try await fresh.read(until: #"{"status":"ok"}"#, timeout: .seconds(5))
                #expect(reply.hasPrefix("HTTP/1.1 200"))
                // The oldest idle connection was closed to make room.
                #expect(try await idle[round].readUntilClosed(timeout: .seconds(5)) == "")
                idle.append(fresh)
            }
            #expect(sample(Self.openSeries, in: registry) == "8")
            #expect(sample("procmgr_http_connections_evicted_total", in: registry) == "3")
            #expect(sample("procmgr_http_connections_refused_total", in: registry) == "0")
            withExtendedLifetime(idle) {}
        }
    }

    @Test("when every slot has a request in progress: 503 with the JSON body and close; a finished one frees a slot")
    func capRefusesWhenAllBusy() async throws {
        let registry = MetricsRegistry()
        try await withServedAPI(registry: registry, configuration: Self.configuration(maxConnections: 4, idleTimeout: .seconds(30))) { port in
            // Each sends a GET and, in the same write, the head of a POST whose body it holds
            // back: once the GET is answered the POST's head has been read (it arrived with it),
            // so the connection is busy for certain.
            var busy: [RawConnection] = []
            for _ in 0..<4 {
                let connection = try RawConnection(port: port)
                connection.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "POST /-/reload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")
                _ = try await connection.read(until: #"{"status":"ok"}"#, timeout: .seconds(5))
                busy.append(connection)
            }
            for _ in 0..<2 {
                let extra = try RawConnection(port: port)
                let reply = try await extra.readUntilClosed(timeout: .seconds(5))
                #expect(reply.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(reply)")
                #expect(reply.contains("Content-Type: application/json; charset=utf-8\r\n"))
                #expect(reply.hasSuffix(#"{"error":"all 4 connections the API serves at once have a request in progress; try again later"}"#))
            }
            #expect(sample("procmgr_http_connections_refused_total", in: registry) == "2")
            // One request completes: its connection is idle again and makes room.
            busy[0].send("{}")
            _ = try await busy[0].read(until: #"{"result":"success"}"#, timeout: .seconds(5))
            let fresh = try RawConnection(port: port)
            fresh.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await fresh.read(until: #"{"status":"ok"}"#, timeout: .seconds(5)).hasPrefix("HTTP/1.1 200"))
            #expect(try await busy[0].readUntilClosed(timeout: .seconds(5)).isEmpty)
            withExtendedLifetime(busy) {}
        }
    }

    @Test("an idle connection is closed after the idle timeout, a fresh one and one after a response alike")
    func idleConnectionsAreClosed() async throws {
        let registry = MetricsRegistry()
        let timeout = Duration.milliseconds(300)
        try await withServedAPI(registry: registry, configuration: Self.configuration(maxConnections: 8, idleTimeout: timeout)) { port in
            let start = ContinuousClock.now
            let silent = try RawConnection(port: port)
            #expect(try await silent.readUntilClosed(timeout: .seconds(5)) == "")
            #expect(ContinuousClock.now - start >= timeout)

            let served = try RawConnection(port: port)
            // Taken before the request: the server's idle clock starts after its response, later.
            let asked = ContinuousClock.now
            served.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try await served.read(until: #"{"status":"ok"}"#, timeout: .seconds(5))
            #expect(try await served.readUntilClosed(timeout: .seconds(5)) == "")
            #expect(ContinuousClock.now - asked >= timeout)
            try await eventually("no connection open") { sample(Self.openSeries, in: registry) == "0" }
        }
    }

    @Test("a request head trickled in byte by byte is cut off at the idle timeout (slowloris)")
    func trickledHeadIsCutOff() async throws {
        try await withServedAPI(configuration: Self.configuration(maxConnections: 8, idleTimeout: .milliseconds(300))) { port in
            let connection = try RawConnection(port: port)
            connection.send("GET /healthz HTTP/1.1\r\nHost: t\r\n")
            let start = ContinuousClock.now
            // A header byte every 50 ms for up to 10 s: far more often than the idle timeout, so
            // only a bound on the whole head can end it before the trickle does.
            let trickle = Task.detached {
                for index in 0..<200 where !Task.isCancelled {
                    guard connection.send(index.isMultiple(of: 2) ? "X" : "y") else { return }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            let reply = try await connection.readUntilClosed(timeout: .seconds(15))
            let elapsed = ContinuousClock.now - start
            trickle.cancel()
            await trickle.value
            #expect(reply == "")
            // Cut off well before the 10 s trickle ends (about 0.3–0.6 s on a quiet machine; the
            // bound leaves room for a loaded CI machine and still fails if only the trickle's end
            // closed it).
            #expect(elapsed < .seconds(8), "closed after \(elapsed)")
        }
    }
}
