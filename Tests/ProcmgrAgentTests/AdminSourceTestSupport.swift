import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ProcmgrSupport
import ProcmgrTestKit
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
        var found: Element?
        try await eventually("\(what) #\(index) (have \(count))", timeout: timeout) {
            found = items.withLock { index < $0.count ? $0[index] : nil }
            return found != nil
        }
        guard let found else { throw TimedOut(description: "\(what) #\(index) vanished") }
        return found
    }
}

/// The poll loop, one poll at a time: the loop's next sleep on the shared ``ManualClock`` tells
/// the test the previous response was fully handled; the test checks everything, changes the
/// service, and lets exactly one more poll happen with `release()`.
extension ManualClock {
    /// Waits until the loop sleeps and returns how long it asked for; the sleep lasts until
    /// `release()`.
    func nextSleep(within timeout: Duration = .seconds(10)) async throws -> Duration {
        try await waitForSleepers(1, timeout: timeout)
        guard let deadline = sleeperDeadlines.first else { throw TimedOut(description: "the sleeper left before it was read") }
        return now.duration(to: deadline)
    }

    /// Ends the loop's sleep: it polls once more.
    func release() {
        if let deadline = sleeperDeadlines.first { advance(to: deadline) }
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
