import Foundation
import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrTestKit
import Testing

/// The issue's bounded load test: 1,000 concurrent event streams while `/metrics` keeps answering.
///
/// A suite of its own because it loads the whole test process (1,000 server channels, 1,000
/// client sockets, the kernel's accept backlog): run beside the runtime's timing tests on two
/// cores it would measure this test, not them. The test command runs it in a `swift test` pass of
/// its own (`.ci/run`: `--skip` in the parallel pass, `--filter` after it).
@Suite("Server-Sent Events under load", .timeLimit(.minutes(3)))
struct ServerSentEventLoadTests {
    @Test("1,000 concurrent streams get every event while /metrics keeps answering")
    func thousandStreams() async throws {
        try raiseDescriptorLimit(to: 4_096)
        let backend = FakeBackend(processes: [process("api-1")])
        let registry = MetricsRegistry()
        try await withServedAPI(backend: backend, registry: registry, configuration: ServerSentEventTests.configuration()) { port in
            let streams = try await Self.connect(1_000, port: port)
            try await eventually("1,000 subscribers", timeout: .seconds(60)) { backend.events.ring.subscriberCount == 1_000 }
            let clock = ContinuousClock()
            let start = clock.now
            let scrape = try StreamConnection(port: port, get: "/metrics", headers: ["Connection: close"])
            let answer = try await scrape.readUntilClosed()
            #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
            #expect(sample(#"procmgr_http_streams{stream="events"}"#, in: registry) == "1000")
            #expect(clock.now - start < .seconds(2), "a scrape beside 1,000 streams took \(clock.now - start)")
            backend.events.publish(ServerSentEventTests.event("api-1", "to everyone"))
            for stream in streams { try await stream.read(untilBodyContains: "\"to everyone\"") }
        }
    }

    /// Opens `count` event streams from a thread of its own: a blocking `connect` waits out the
    /// kernel's SYN retries when the accept backlog is full, and must not hold a thread of the
    /// cooperative pool the server and every other test need meanwhile.
    private static func connect(_ count: Int, port: Int) async throws -> [StreamConnection] {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    try (0..<count).map { _ in try StreamConnection(port: port, get: "/api/v1/events") }
                })
            }.start()
        }
    }
}
