import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ProcmgrSupport
import ServiceLifecycle
import Testing

/// Thrown when an awaited event did not come: the test fails with what it was waiting for
/// instead of hanging until the time limit.
struct TimedOut: Error, CustomStringConvertible {
    let description: String
}

/// Events appended by the code under test, awaited by the test with a deadline.
final class Recorder<Element: Sendable>: Sendable {
    private let items = LockedState<[Element]>([])

    /// Appends `element` and returns its index.
    @discardableResult
    func append(_ element: Element) -> Int {
        items.withLock { items in
            items.append(element)
            return items.count - 1
        }
    }

    var all: [Element] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }

    /// The element at `index`, waiting up to `timeout` for it to be appended.
    func element(_ index: Int, within timeout: Duration = .seconds(10), _ what: String = "event") async throws -> Element {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let element = items.withLock({ index < $0.count ? $0[index] : nil }) { return element }
            guard ContinuousClock.now < deadline else {
                throw TimedOut(description: "waited \(timeout) for \(what) #\(index); have \(count)")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// A clock whose sleeps last until the test releases them, one at a time, in virtual time.
///
/// Each sleep the poll loop asks for is recorded (its exact duration) and then held, so the test
/// knows the loop has finished handling the previous response, can check everything, change the
/// service, and let exactly one more poll happen with `release()`.
final class SteppingClock: Clock {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct State {
        var now = Duration.zero
        var released = 0
        var consumed = 0
    }

    private let state = LockedState(State())
    /// Every sleep requested, in order.
    let sleeps = Recorder<Duration>()

    var now: Instant { Instant(offset: state.withLock { $0.now }) }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let index = sleeps.append(now.duration(to: deadline))
        while state.withLock({ $0.released <= index }) {
            try await Task.sleep(for: .milliseconds(1))
        }
        state.withLock { $0.now = max($0.now, deadline.offset) }
    }

    /// Waits until the loop asks for its next sleep (so the previous poll is fully handled) and
    /// returns how long it asked for; the sleep stays held until `release()`.
    func nextSleep(within timeout: Duration = .seconds(10)) async throws -> Duration {
        let index = state.withLock { state in
            defer { state.consumed += 1 }
            return state.consumed
        }
        return try await sleeps.element(index, within: timeout, "sleep")
    }

    /// Ends the oldest held sleep: the loop polls once more.
    func release() {
        state.withLock { $0.released += 1 }
    }
}

/// A scriptable admin service on a real socket (Hummingbird, 127.0.0.1, port 0).
final class FakeAdminService: Sendable {
    enum Reply: Sendable {
        /// 200 with `text`; 304 to a matching `If-None-Match` when `conditional`.
        case json(String, etag: String?, conditional: Bool = true)
        case status(Int)
        /// 200 after `delay`: a service that hangs.
        case stall(Duration)
    }

    struct Request: Sendable {
        let authorization: String?
        let ifNoneMatch: String?
        let answered: Int
    }

    static let path = "/v1/processes"

    private let reply = LockedState(Reply.status(503))
    private let group = LockedState<ServiceGroup?>(nil)
    private let stopped = Recorder<Void>()
    let requests = Recorder<Request>()
    let port: LockedState<Int> = LockedState(0)

    var url: URL { URL(string: "http://127.0.0.1:\(port.withLock { $0 })\(Self.path)")! }

    func serve(_ reply: Reply) { self.reply.withLock { $0 = reply } }

    /// Stops the server; its port then refuses connections.
    func stop() async throws {
        guard let group = group.withLock({ $0 }) else { return }
        await group.triggerGracefulShutdown()
        _ = try await stopped.element(0, "server stop")
    }

    fileprivate func respond(authorization: String?, ifNoneMatch: String?) async -> Response {
        let response: Response
        switch reply.withLock({ $0 }) {
        case .stall(let delay):
            requests.append(Request(authorization: authorization, ifNoneMatch: ifNoneMatch, answered: 200))
            try? await Task.sleep(for: delay)
            return Response(status: .ok)
        case .json(let text, let etag, let conditional):
            var headers: HTTPFields = [:]
            if let etag { headers[.eTag] = etag }
            if conditional, let etag, ifNoneMatch == etag {
                response = Response(status: .notModified, headers: headers)
            } else {
                headers[.contentType] = "application/json"
                response = Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
            }
        case .status(let code):
            response = Response(status: HTTPResponse.Status(code: code))
        }
        requests.append(Request(authorization: authorization, ifNoneMatch: ifNoneMatch, answered: response.status.code))
        return response
    }

    fileprivate func running(_ group: ServiceGroup, port: Int) {
        self.group.withLock { $0 = group }
        self.port.withLock { $0 = port }
    }

    fileprivate func markStopped() { stopped.append(()) }
}

/// Runs `body` with a live `FakeAdminService`, stopped (if still running) afterwards.
func withFakeAdminService<Value: Sendable>(_ body: @Sendable (FakeAdminService) async throws -> Value) async throws -> Value {
    let service = FakeAdminService()
    let router = Router()
    router.get(RouterPath(FakeAdminService.path)) { request, _ -> Response in
        await service.respond(authorization: request.headers[.authorization], ifNoneMatch: request.headers[.ifNoneMatch])
    }
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) },
        logger: quietLogger("fake-admin"))
    let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: quietLogger("fake-admin"))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer {
                portSink.finish()
                service.markStopped()
            }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TimedOut(description: "the fake admin service did not start") }
        service.running(group, port: port)
        do {
            let value = try await body(service)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Runs `body` with an `HTTPClient` that is shut down afterwards, whatever happens.
///
/// It does not retry refused connections (AsyncHTTPClient's default retries until the request's
/// deadline), so a stopped service fails a poll at once instead of after the timeout.
func withHTTPClient<Value: Sendable>(_ body: (HTTPClient) async throws -> Value) async throws -> Value {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        let value = try await body(client)
        try await client.shutdown()
        return value
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// A logger that prints nothing unless `LOG_LEVEL` asks for it.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}

func contents(of path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}
