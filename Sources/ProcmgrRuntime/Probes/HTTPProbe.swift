import AsyncHTTPClient

/// Performs HTTP probes (every kind) over one shared `HTTPClient` (one connection pool and the
/// shared event loop group for every probe of the runtime).
///
/// Why a shared client: a client per probe would cost a pool and a shutdown per request; with
/// a thousand probed processes that is the whole agent's CPU. The client is owned by
/// ``ProcessRuntime/run()``, which shuts it down after its last probe ended.
struct HTTPProbe: Sendable {
    let client: HTTPClient

    /// A client for probes: no redirect following (a 3xx *is* the answer), no proxy, and a
    /// small idle pool per child port.
    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 2)
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// `GET http://127.0.0.1:<port><path>`, raced against `timeout` (connect, headers and body).
    ///
    /// Why our own timer: the client's deadline surfaces as different errors depending on where
    /// the request was (queued for a connection, connecting, reading), some of them plain
    /// cancellations; a race makes "no full answer in time" one result, `timeout`.
    func check(port: Int, path: String, headers: [String: String], timeout: Duration) async -> ProbeResult {
        await withTaskGroup(of: ProbeResult?.self) { group in
            group.addTask { await request(port: port, path: path, headers: headers, backstop: timeout + .seconds(1)) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timeout
                } catch {
                    return nil
                }
            }
            defer { group.cancelAll() }
            for await result in group {
                if let result { return result }
            }
            return .failure  // only when the caller was cancelled; it checks that itself
        }
    }

    /// One request; `nil` when cancelled (the timer won). The body is read and dropped so the
    /// connection can be reused.
    private func request(port: Int, path: String, headers: [String: String], backstop: Duration) async -> ProbeResult? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
        let (seconds, attoseconds) = backstop.components
        let nanoseconds = min(seconds, 86_400) * 1_000_000_000 + attoseconds / 1_000_000_000
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
            for try await _ in response.body {}
            return (200..<400).contains(response.status.code) ? .success : .failure
        } catch {
            return Task.isCancelled ? nil : .failure
        }
    }
}
