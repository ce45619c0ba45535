import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ProcmgrHTTP
import ProcmgrMetrics
import ServiceLifecycle
import Testing

/// A quiet logger; set `LOG_LEVEL=debug` to see the server's own logging.
func testLogger() -> Logger {
    var logger = Logger(label: "procmgr-http-tests")
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}

/// Runs `body` against a live server (port 0, real sockets) over `backend`.
func withLiveServer<Value: Sendable>(
    backend: FakeBackend = FakeBackend(),
    registry: MetricsRegistry = MetricsRegistry(),
    host: String = "127.0.0.1",
    token: String? = nil,
    maxBodyBytes: Int = 64 * 1024,
    _ body: @Sendable (any TestClientProtocol) async throws -> Value
) async throws -> Value {
    let app = try AgentHTTPServer.makeApplication(
        configuration: APIServerConfiguration(host: host, port: 0, token: token, maxBodyBytes: maxBodyBytes),
        backend: backend, registry: registry, logger: testLogger())
    return try await app.test(.live, body)
}

/// Runs the API the way the agent runs it — its own `run()` in a `ServiceGroup`, not
/// HummingbirdTesting's wrapper — on `configuration`'s host and an ephemeral port, calls `body` with that port and
/// shuts the server down whatever `body` throws.
func withServedAPI(
    backend: FakeBackend = FakeBackend(),
    registry: MetricsRegistry = MetricsRegistry(),
    configuration: APIServerConfiguration = APIServerConfiguration(host: "127.0.0.1", port: 0),
    _ body: @Sendable (Int) async throws -> Void
) async throws {
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let app = try AgentHTTPServer.makeApplication(
        configuration: configuration,
        backend: backend, registry: registry, logger: testLogger(),
        onServerRunning: { channel in
            portSink.yield(channel.localAddress?.port ?? 0)
            portSink.finish()
        })
    let services = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: testLogger())
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            // A server that cannot bind ends the stream, so `body` is not waited for in vain.
            defer { portSink.finish() }
            try await services.run()
        }
        let outcome: Result<Void, any Error>
        do {
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try #require(port > 0)
            try await body(port)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await services.triggerGracefulShutdown()
        try outcome.get()
    }
}

/// A second, independent connection to the live server behind `client`.
func withExtraConnection<Value: Sendable>(
    to client: any TestClientProtocol, _ body: @escaping @Sendable (TestClient) async throws -> Value
) async throws -> Value {
    let port = try #require(client.port)
    return try await TestClient.withClient(host: "127.0.0.1", port: port, operation: body)
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body parsed as a JSON object; fails the test if it is not one.
    func jsonObject(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(value as? [String: Any], "body is not a JSON object: \(text)", sourceLocation: sourceLocation)
    }

    /// The `error` field of a JSON error body.
    func errorMessage(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        #expect(headers[.contentType] == "application/json; charset=utf-8", sourceLocation: sourceLocation)
        return try #require(try jsonObject()["error"] as? String, "no error field in \(text)", sourceLocation: sourceLocation)
    }
}

/// Decompresses one gzip member with zlib (through CompressNIO), CRC checked.
func gunzip(_ buffer: ByteBuffer) throws -> String {
    var compressed = buffer
    let plain = try compressed.decompress(with: .gzip, maxSize: 512 * 1024 * 1024)
    return String(buffer: plain)
}

/// `name{labels} value` lines of an exposition, by series (comments skipped).
func samples(_ exposition: String) -> [String: String] {
    var result: [String: String] = [:]
    for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        result[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    return result
}

func process(_ id: String, state: String = "running") -> ProcessView {
    ProcessView(id: id, state: state, pid: 4242, port: 30001, healthy: true, restarts: 2, createdAt: 1_700_000_000, startedAt: 1_700_000_001.5, hostnames: ["\(id).example.test"])
}

/// The current value of one series in `registry`'s exposition.
func sample(_ series: String, in registry: MetricsRegistry) -> String? {
    var buffer: [UInt8] = []
    registry.writeExposition(into: &buffer)
    return samples(String(decoding: buffer, as: UTF8.self))[series]
}
