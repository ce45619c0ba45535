import AsyncHTTPClient
import Foundation
import ProcmgrAgent
import ProcmgrConfig
import ProcmgrEngine
import ProcmgrMetrics
import ProcmgrTestKit
import Testing

/// `AdminSource` against a real HTTP service on a loopback socket. Polls are paced by a
/// `ManualClock`: each test lets exactly one poll happen at a time and checks what reached the
/// service, what was delivered and how long the loop then asked to wait.
@Suite(.timeLimit(.minutes(1)))
struct AdminSourceTests {
    static let bodyA = #"{"processes":[{"id":"api-1","command":["/bin/sleep","60"]}]}"#
    static let bodyC = #"{"processes":[{"id":"api-1","command":["/bin/sleep","60"]},{"id":"api-2","command":["/bin/sleep","60"]}]}"#
    static let invalidB = #"{"processes":[{"id":"bad id!","command":[]}]}"#
    static let pollInterval = Duration.seconds(30)
    /// With `random` pinned at 0.5 the jitter is zero: delays are exactly 100, 200, 400, 400 ms.
    /// Timeouts are generous because the test client fails refused connections at once (see
    /// `withHTTPClient`), and a loaded CI machine must not turn a slow answer into a failure.
    static let tuning = AdminSource.Tuning(
        backoff: Backoff(initial: .milliseconds(100), maximum: .milliseconds(400), multiplier: 2, jitter: 0.2),
        requestTimeout: .seconds(5), initialTimeout: .seconds(5), maxBodyBytes: 4096)

    /// A temp directory with a token file; the cache goes two missing directories deep.
    final class Fixture: Sendable {
        let directory: String
        var tokenFile: String { directory + "/admin.token" }
        var cacheFile: String { directory + "/state/admin/cache.json" }

        init(token: String? = "secret-1\n") throws {
            directory = try makeTemporaryDirectory()
            if let token { try writeToken(token) }
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func writeToken(_ token: String) throws {
            try Data(token.utf8).write(to: URL(fileURLWithPath: tokenFile))
        }

        func spec(_ url: URL, pollInterval: Duration = AdminSourceTests.pollInterval) -> AdminSourceSpec {
            AdminSourceSpec(url: url, tokenFile: tokenFile, pollInterval: pollInterval, cacheFile: cacheFile)
        }
    }

    /// The agent's real check: the body merges into a config.
    static func validates(_ body: AdminBody) -> Bool {
        (try? ConfigLoader.mergeAdmin(response: body.data, into: AgentConfig())) != nil
    }

    static func makeSource(
        _ spec: AdminSourceSpec, _ client: HTTPClient, registry: MetricsRegistry = MetricsRegistry(),
        clock: ManualClock = ManualClock()
    ) throws -> AdminSource {
        try AdminSource(spec: spec, client: client, logger: quietLogger("admin-source"), registry: registry,
                        tuning: tuning, clock: clock, random: { 0.5 })
    }

    /// `procmgr_admin_fetches_total` by result.
    static func fetches(_ registry: MetricsRegistry) -> [String: String] {
        var result: [String: String] = [:]
        for line in registry.exposition().split(separator: "\n") where line.hasPrefix("procmgr_admin_fetches_total{") {
            let parts = line.split(separator: " ")
            let label = parts[0].split(separator: "\"")[1]
            result[String(label)] = String(parts[1])
        }
        return result
    }

    @Test func tokenAndETagAreSentA304DeliversNothingAndAChangeArrivesWithinOnePoll() async throws {
        let fixture = try Fixture()
        try await withFakeAdminService { service in
            try await withHTTPClient { client in
                service.serve(.json(Self.bodyA, etag: "\"v1\""))
                let registry = MetricsRegistry()
                let clock = ManualClock()
                let source = try Self.makeSource(fixture.spec(service.url), client, registry: registry, clock: clock)
                let deliveries = Recorder<AdminBody>()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await source.run { deliveries.append($0); return true } }

                    let first = try await service.requests.element(0)
                    #expect(first.authorization == "Bearer secret-1")
                    #expect(first.ifNoneMatch == nil)
                    #expect(try await deliveries.element(0) == AdminBody(data: Data(Self.bodyA.utf8), etag: "\"v1\""))
                    #expect(try await clock.nextSleep() == Self.pollInterval)

                    clock.release()
                    #expect(try await clock.nextSleep() == Self.pollInterval)
                    let second = try await service.requests.element(1)
                    #expect(second.ifNoneMatch == "\"v1\"")
                    #expect(second.answered == 304)
                    #expect(deliveries.count == 1)

                    try fixture.writeToken("secret-2")
                    service.serve(.json(Self.bodyC, etag: "\"v2\""))
                    clock.release()
                    #expect(try await clock.nextSleep() == Self.pollInterval)
                    let third = try await service.requests.element(2)
                    #expect(third.authorization == "Bearer secret-2", "a rotated token is read at the next poll")
                    #expect(third.answered == 200)
                    #expect(deliveries.all.map(\.etag) == ["\"v1\"", "\"v2\""], "the change arrived with the first poll after it")
                    #expect(contents(of: fixture.cacheFile) == Self.bodyC)
                    #expect(source.lastGood?.etag == "\"v2\"")
                    #expect(Self.fetches(registry) == ["changed": "2", "unchanged": "1", "error": "0"])
                    group.cancelAll()
                }
            }
        }
    }

    @Test func anOutageKeepsTheLastGoodConfigAndBacksOffUntilTheServiceAnswers() async throws {
        let fixture = try Fixture()
        try await withFakeAdminService { service in
            try await withHTTPClient { client in
                service.serve(.json(Self.bodyA, etag: "\"v1\""))
                let registry = MetricsRegistry()
                let clock = ManualClock()
                let source = try Self.makeSource(fixture.spec(service.url), client, registry: registry, clock: clock)
                let deliveries = Recorder<AdminBody>()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await source.run { deliveries.append($0); return true } }
                    _ = try await deliveries.element(0)
                    #expect(try await clock.nextSleep() == Self.pollInterval)

                    // Failures of every kind: 503, 503, an over-size body, then a missing token
                    // (no request is sent at all). The delay doubles up to its 400 ms cap.
                    service.serve(.status(503))
                    var delays: [Int] = []
                    for _ in 0..<2 {
                        clock.release()
                        delays.append(try await clock.nextSleep().wholeMilliseconds)
                    }
                    service.serve(.json(String(repeating: " ", count: 5000) + Self.bodyC, etag: "\"huge\""))
                    clock.release()
                    delays.append(try await clock.nextSleep().wholeMilliseconds)
                    try FileManager.default.removeItem(atPath: fixture.tokenFile)
                    clock.release()
                    delays.append(try await clock.nextSleep().wholeMilliseconds)
                    #expect(delays == [100, 200, 400, 400])
                    #expect(service.requests.all.map(\.answered) == [200, 503, 503, 200], "no request without a token")
                    #expect(deliveries.count == 1)
                    #expect(source.lastGood?.data == Data(Self.bodyA.utf8))
                    #expect(contents(of: fixture.cacheFile) == Self.bodyA)

                    // Back: the unchanged config answers 304, and the loop returns to its interval.
                    try fixture.writeToken("secret-1")
                    service.serve(.json(Self.bodyA, etag: "\"v1\""))
                    clock.release()
                    #expect(try await clock.nextSleep() == Self.pollInterval)
                    #expect(service.requests.all.last?.answered == 304)
                    #expect(deliveries.count == 1)

                    // Down for good: the backoff starts again from its initial delay.
                    try await service.stop()
                    clock.release()
                    #expect(try await clock.nextSleep().wholeMilliseconds == 100)
                    #expect(deliveries.count == 1)
                    #expect(Self.fetches(registry) == ["changed": "1", "unchanged": "1", "error": "5"])
                    group.cancelAll()
                }
            }
        }
    }

    @Test func aRejectedBodyIsNotCachedNorOfferedAgainAndTheNextChangeIs() async throws {
        let fixture = try Fixture()
        try await withFakeAdminService { service in
            try await withHTTPClient { client in
                service.serve(.json(Self.bodyA, etag: "\"v1\""))
                let clock = ManualClock()
                let source = try Self.makeSource(fixture.spec(service.url), client, clock: clock)
                let deliveries = Recorder<(etag: String?, accepted: Bool)>()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await source.run { body in
                            let accepted = Self.validates(body)
                            deliveries.append((body.etag, accepted))
                            return accepted
                        }
                    }
                    _ = try await clock.nextSleep()

                    service.serve(.json(Self.invalidB, etag: "\"v2\""))
                    clock.release()
                    #expect(try await clock.nextSleep() == Self.pollInterval, "a rejected body is not a failed poll")
                    #expect(contents(of: fixture.cacheFile) == Self.bodyA)
                    #expect(source.lastGood?.etag == "\"v1\"")

                    // The same invalid body again: answered 304, then re-sent in full under the
                    // same ETag, then without any ETag. It is never offered a second time.
                    clock.release()
                    _ = try await clock.nextSleep()
                    service.serve(.json(Self.invalidB, etag: "\"v2\"", conditional: false))
                    clock.release()
                    _ = try await clock.nextSleep()
                    service.serve(.json(Self.invalidB, etag: nil))
                    clock.release()
                    _ = try await clock.nextSleep()
                    #expect(service.requests.all.map(\.answered) == [200, 200, 304, 200, 200])
                    #expect(service.requests.all.map(\.ifNoneMatch) == [nil, "\"v1\"", "\"v2\"", "\"v2\"", "\"v2\""])

                    service.serve(.json(Self.bodyC, etag: "\"v3\""))
                    clock.release()
                    _ = try await clock.nextSleep()
                    #expect(deliveries.all.map(\.etag) == ["\"v1\"", "\"v2\"", "\"v3\""])
                    #expect(deliveries.all.map(\.accepted) == [true, false, true])
                    #expect(contents(of: fixture.cacheFile) == Self.bodyC)
                    group.cancelAll()
                }
            }
        }
    }

    @Test func aRestartedAgentStartsFromTheCacheWhileTheServiceIsDown() async throws {
        let fixture = try Fixture()
        try await withHTTPClient { client in
            let url = try await withFakeAdminService { service in
                service.serve(.json(Self.bodyA, etag: "\"v1\""))
                let source = try Self.makeSource(fixture.spec(service.url), client)
                let body = try await source.initial(accept: { Self.validates($0) })
                #expect(body == AdminBody(data: Data(Self.bodyA.utf8), etag: "\"v1\"", fromCache: false))
                return service.url
            }
            #expect(contents(of: fixture.cacheFile) == Self.bodyA)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/state/admin")
            #expect(leftovers == ["cache.json"], "no temp file left behind")

            // A new agent, the service gone: it starts from the cache, then polls on the backoff.
            let clock = ManualClock()
            let restarted = try Self.makeSource(fixture.spec(url), client, clock: clock)
            let body = try await restarted.initial(accept: { Self.validates($0) })
            #expect(body == AdminBody(data: Data(Self.bodyA.utf8), etag: nil, fromCache: true))
            #expect(restarted.lastGood == body)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await restarted.run { _ in true } }
                let firstDelay = try await clock.nextSleep()
                #expect(firstDelay.wholeMilliseconds == 100, "the service was down at startup: back off")
                group.cancelAll()
            }

            // No cache either: a clear error naming both.
            var spec = fixture.spec(url)
            spec.cacheFile = fixture.directory + "/none/cache.json"
            let error = await #expect(throws: AdminSourceError.self) {
                _ = try await Self.makeSource(spec, client).initial(accept: { Self.validates($0) })
            }
            #expect(error?.code == .noConfig)
            #expect(error?.message.contains(url.absoluteString) == true)
            #expect(error?.message.contains(spec.cacheFile) == true)
        }
    }

    @Test func anInvalidLiveBodyAtStartupFallsBackToTheCacheAndIsNotOfferedAgain() async throws {
        let fixture = try Fixture()
        try FileManager.default.createDirectory(atPath: fixture.directory + "/state/admin", withIntermediateDirectories: true)
        try Data(Self.bodyA.utf8).write(to: URL(fileURLWithPath: fixture.cacheFile))
        try await withFakeAdminService { service in
            try await withHTTPClient { client in
                service.serve(.json(Self.invalidB, etag: "\"v2\""))
                let clock = ManualClock()
                let source = try Self.makeSource(fixture.spec(service.url), client, clock: clock)
                let body = try await source.initial(accept: { Self.validates($0) })
                #expect(body == AdminBody(data: Data(Self.bodyA.utf8), fromCache: true))
                let deliveries = Recorder<AdminBody>()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await source.run { deliveries.append($0); return true } }
                    #expect(try await clock.nextSleep() == Self.pollInterval)
                    clock.release()
                    _ = try await clock.nextSleep()
                    #expect(service.requests.all.map(\.ifNoneMatch) == [nil, "\"v2\""])
                    #expect(service.requests.all.map(\.answered) == [200, 304])
                    #expect(deliveries.count == 0)
                    group.cancelAll()
                }
                #expect(contents(of: fixture.cacheFile) == Self.bodyA)
            }
        }
    }

    @Test func aServiceThatHangsIsATimeoutAndTheLoopBacksOff() async throws {
        let fixture = try Fixture()
        try await withFakeAdminService { service in
            try await withHTTPClient { client in
                service.serve(.stall(.seconds(1)))
                let registry = MetricsRegistry()
                let clock = ManualClock()
                var tuning = Self.tuning
                tuning.requestTimeout = .milliseconds(200)
                let source = try AdminSource(
                    spec: fixture.spec(service.url), client: client, logger: quietLogger("admin-source"),
                    registry: registry, tuning: tuning, clock: clock, random: { 0.5 })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await source.run { _ in true } }
                    let delay = try await clock.nextSleep()
                    #expect(delay.wholeMilliseconds == 100)
                    #expect(Self.fetches(registry)["error"] == "1")
                    group.cancelAll()
                }
            }
        }
    }

    /// The production path: the default clock, a short real interval.
    @Test func withTheRealClockAChangeIsDeliveredAtTheNextPoll() async throws {
        let fixture = try Fixture()
        try await withFakeAdminService { service in
            try await withHTTPClient { client in
                service.serve(.json(Self.bodyA, etag: "\"v1\""))
                let source = try AdminSource(
                    spec: fixture.spec(service.url, pollInterval: .milliseconds(50)), client: client,
                    logger: quietLogger("admin-source"), tuning: Self.tuning)
                let deliveries = Recorder<AdminBody>()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await source.run { deliveries.append($0); return true } }
                    _ = try await deliveries.element(0)
                    _ = try await service.requests.element(1)
                    service.serve(.json(Self.bodyC, etag: "\"v2\""))
                    let changed = try await deliveries.element(1, within: .seconds(5))
                    #expect(changed.etag == "\"v2\"")
                    group.cancelAll()
                }
            }
        }
    }
}
