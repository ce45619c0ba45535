import AsyncHTTPClient
import Foundation
import Glibc
import Logging
import NIOCore
import ProcmgrEtcd
import ProcmgrTestKit
import Testing

/// ProcmgrEtcd's client against real etcd members (see ``EtcdTestCluster``).
@Suite("EtcdClient", .timeLimit(.minutes(2)))
struct EtcdClientTests {
    /// A client on `endpoints`, shut down after `body`.
    static func withClient<T>(
        _ endpoints: [URL], username: String? = nil, password: String? = nil, tls: EtcdTLSFiles? = nil,
        requestTimeout: Duration = .seconds(5), _ body: (EtcdClient) async throws -> T
    ) async throws -> T {
        let client = EtcdClient(
            configuration: .init(endpoints: endpoints, username: username, password: password, tls: tls, requestTimeout: requestTimeout),
            logger: Logger(label: "etcd-client-test"))
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Runs `body` expecting an EtcdError; returns it.
    static func etcdError(_ body: () async throws -> Void) async -> EtcdError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? EtcdError
        }
    }

    /// POST /v3/auth/authenticate without the client: a token of our own.
    static func authenticate(_ endpoint: URL, _ name: String, _ password: String) async throws -> String {
        var request = HTTPClientRequest(url: endpoint.absoluteString + "/v3/auth/authenticate")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: #"{"name":"\#(name)","password":"\#(password)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 16)
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        return try #require(object?["token"] as? String, "\(String(buffer: body))")
    }

    /// A range of "/" with `token`, raw.
    static func rawGet(_ endpoint: URL, token: String) async throws -> (status: UInt, text: String) {
        var request = HTTPClientRequest(url: endpoint.absoluteString + "/v3/kv/range")
        request.method = .POST
        request.headers.add(name: "Authorization", value: token)
        request.body = .bytes(ByteBuffer(string: #"{"key":"Lw=="}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 16)
        return (response.status.code, String(buffer: body))
    }

    @Test func putGetDeleteAndPrefixDelete() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let revision = try await client.put(key: "/a", value: Self.bytes("one"))
                let kv = try #require(try await client.get(key: "/a"))
                #expect(kv == EtcdKeyValue(key: "/a", value: Self.bytes("one"), createRevision: revision, modRevision: revision, version: 1, lease: 0))
                let second = try await client.put(key: "/a", value: [])
                let updated = try #require(try await client.get(key: "/a"))
                #expect(updated.value == [] && updated.version == 2 && updated.modRevision == second && updated.createRevision == revision)
                let deleted = try await client.delete(key: "/a")
                #expect(deleted == second + 1)
                #expect(try await client.get(key: "/a") == nil)

                for key in ["/p/1", "/p/2", "/p/sub/3", "/pq", "/other"] { try await client.put(key: key, value: Self.bytes(key)) }
                #expect(try await client.range(prefix: "/p/").kvs.map(\.key) == ["/p/1", "/p/2", "/p/sub/3"])
                try await client.delete(prefix: "/p/")
                #expect(try await client.range(prefix: "/p/").kvs.isEmpty)
                #expect(try await client.range(prefix: "/").kvs.map(\.key) == ["/other", "/pq"])
            }
        }
    }

    @Test func rangeAtRevisionPaginatesOverMoreThanAThousandKeys() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let keys = (0..<2345).map { String(format: "/big/%05d", $0) }
                // etcd allows 128 operations per transaction by default.
                var written: Int64 = 0
                for start in stride(from: 0, to: keys.count, by: 128) {
                    let puts = keys[start..<min(start + 128, keys.count)].map { EtcdOperation.put(key: $0, value: Self.bytes("v1 \($0)"), lease: 0) }
                    written = try await client.txn(compare: [], success: puts).revision
                }
                let before = try await client.range(prefix: "/big/")
                #expect(before.revision == written)
                #expect(before.kvs.map(\.key) == keys)

                // Change the prefix after `written`: a read at `written` must not see it, on any page.
                try await client.put(key: "/big/00000", value: Self.bytes("v2"))
                try await client.delete(key: "/big/01500")
                try await client.put(key: "/big/99999", value: Self.bytes("new"))
                let old = try await client.range(prefix: "/big/", revision: written)
                #expect(old.revision == written)
                #expect(old.kvs.map(\.key) == keys)
                #expect(old.kvs.allSatisfy { $0.value == Self.bytes("v1 \($0.key)") })

                let now = try await client.range(prefix: "/big/")
                #expect(now.revision == written + 3)
                #expect(now.kvs.count == keys.count)
                #expect(now.kvs.first?.value == Self.bytes("v2"))
                #expect(now.kvs.last?.key == "/big/99999")
                #expect(!now.kvs.contains { $0.key == "/big/01500" })
            }
        }
    }

    @Test func txnCreateIfAbsentSucceedsOnce() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                func claim(_ value: String) async throws(EtcdError) -> EtcdTxnResult {
                    try await client.txn(
                        compare: [.createRevision(key: "/lock", equals: 0)],
                        success: [.put(key: "/lock", value: Self.bytes(value), lease: 0), .get(key: "/lock")],
                        failure: [.get(key: "/lock"), .get(key: "/absent")])
                }
                let first = try await claim("first")
                #expect(first.succeeded)
                #expect(first.ranges.map { $0.map(\.value) } == [[Self.bytes("first")]])
                #expect(first.ranges[0].first?.modRevision == first.revision)

                let second = try await claim("second")
                #expect(!second.succeeded)
                #expect(second.revision == first.revision)
                #expect(second.ranges.map { $0.map(\.value) } == [[Self.bytes("first")], []])

                let swapped = try await client.txn(
                    compare: [.value(key: "/lock", equals: Self.bytes("first")), .lease(key: "/lock", equals: 0)],
                    success: [.delete(key: "/lock"), .deletePrefix("/none/")])
                #expect(swapped.succeeded && swapped.ranges.isEmpty)
                #expect(try await client.get(key: "/lock") == nil)
            }
        }
    }

    @Test func leaseKeepAliveRevokeAndExpiry() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let lease = try await client.grantLease(ttl: .seconds(30))
                #expect(lease.ttl == .seconds(30))
                try await client.put(key: "/leased/a", value: Self.bytes("a"), lease: lease.id)
                #expect(try await client.get(key: "/leased/a")?.lease == lease.id)
                let left = try await client.keepAlive(lease: lease.id)
                #expect(left > .seconds(25) && left <= .seconds(30))
                try await client.revoke(lease: lease.id)
                #expect(try await client.get(key: "/leased/a") == nil)
                #expect(await Self.etcdError { _ = try await client.keepAlive(lease: lease.id) }?.code == .leaseNotFound)
                #expect(await Self.etcdError { try await client.revoke(lease: lease.id) }?.code == .leaseNotFound)

                let short = try await client.grantLease(ttl: .seconds(2))
                try await client.put(key: "/leased/b", value: Self.bytes("b"), lease: short.id)
                try await eventually("the key of an expired lease is deleted", timeout: .seconds(10), every: .milliseconds(100)) {
                    try await client.get(key: "/leased/b") == nil
                }
                #expect(await Self.etcdError { _ = try await client.keepAlive(lease: short.id) }?.code == .leaseNotFound)
            }
        }
    }

    @Test func watchDeliversCreatedPutsAndDeletesInOrderAndResumes() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let start = try await client.status().revision
                var messages = client.watch(prefix: "/w/", fromRevision: start + 1).makeAsyncIterator()
                let created = try await messages.next()
                #expect(created == .created(revision: start))

                let put = try await client.put(key: "/w/a", value: Self.bytes("1"))
                try await client.put(key: "/elsewhere", value: [])
                let deleted = try await client.delete(key: "/w/a")
                var events: [EtcdEvent] = []
                while events.count < 2 {
                    switch try await messages.next() {
                    case .events(_, let batch): events += batch
                    case .progress: continue
                    case let other: Issue.record("unexpected \(String(describing: other))"); return
                    }
                }
                #expect(events == [
                    EtcdEvent(kind: .put, kv: EtcdKeyValue(key: "/w/a", value: Self.bytes("1"), createRevision: put, modRevision: put, version: 1, lease: 0)),
                    EtcdEvent(kind: .delete, kv: EtcdKeyValue(key: "/w/a", value: [], createRevision: 0, modRevision: deleted, version: 0, lease: 0)),
                ])

                // A new watch from the delete's revision sees the delete again, and nothing before it.
                var resumed = client.watch(prefix: "/w/", fromRevision: deleted).makeAsyncIterator()
                #expect(try await resumed.next() == .created(revision: deleted))
                guard case .events(_, let again) = try await resumed.next() else { Issue.record("no events on resume"); return }
                #expect(again.map(\.kind) == [.delete] && again.first?.kv.modRevision == deleted)
            }
        }
    }

    @Test func aWatchWhoseConsumerFallsBehindEndsWithTooLarge() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let start = try await client.status().revision
                var messages = client.watch(prefix: "/q/", fromRevision: start + 1).makeAsyncIterator()
                #expect(try await messages.next() == .created(revision: start))
                // Not reading while 1100 changes arrive, one message each.
                for index in 0..<1100 { try await client.put(key: "/q/\(index)", value: []) }
                var revisions: [Int64] = []
                let error = await #expect(throws: EtcdError.self) {
                    while let message = try await messages.next() {
                        if case .events(_, let events) = message { revisions += events.map(\.kv.modRevision) }
                    }
                }
                #expect(error?.code == .tooLarge, "\(String(describing: error))")
                // Everything queued before the limit arrives, in order, without gaps: the caller
                // resumes from the last revision + 1.
                #expect(revisions.count >= 1000)
                #expect(revisions == Array((start + 1)...(start + Int64(revisions.count))))
            }
        }
    }

    @Test func watchSendsProgressNotifications() async throws {
        try await EtcdTestCluster.with(arguments: ["--experimental-watch-progress-notify-interval=200ms"]) { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let revision = try await client.put(key: "/x", value: [])
                var messages = client.watch(prefix: "/quiet/", fromRevision: revision + 1).makeAsyncIterator()
                #expect(try await messages.next() == .created(revision: revision))
                #expect(try await messages.next() == .progress(revision: revision))
            }
        }
    }

    @Test func watchFromACompactedRevisionReportsCompaction() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let first = try await client.put(key: "/c/a", value: [])
                let last = try await client.put(key: "/c/a", value: Self.bytes("2"))
                try await client.compact(revision: last)
                var received: [EtcdWatchMessage] = []
                for try await message in client.watch(prefix: "/c/", fromRevision: first) { received.append(message) }
                // The stream finished by itself after the compaction.
                #expect(received.last == .compacted(compactRevision: last))
                #expect(received.dropLast().allSatisfy { if case .created = $0 { true } else { false } })
                #expect(await Self.etcdError { _ = try await client.range(prefix: "/c/", revision: first) }?.code == .compacted)
            }
        }
    }

    @Test func watchThrowsWhenItsMemberIsKilled() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let revision = try await client.status().revision
                var messages = client.watch(prefix: "/k/", fromRevision: revision + 1).makeAsyncIterator()
                #expect(try await messages.next() == .created(revision: revision))
                await cluster.kill(member: 0)
                let error = await #expect(throws: EtcdError.self) {
                    while try await messages.next() != nil {}
                }
                #expect(error?.code == .unavailable)
            }
        }
    }

    @Test func cancellingTheConsumerEndsTheWatch() async throws {
        try await EtcdTestCluster.with { cluster in
            try await Self.withClient(cluster.clientURLs) { client in
                let revision = try await client.status().revision
                let consumer = Task {
                    var count = 0
                    for try await _ in client.watch(prefix: "/z/", fromRevision: revision + 1) { count += 1 }
                    return count
                }
                try await eventually("the watch is registered") {
                    try await client.put(key: "/z/ping", value: [])
                    return true
                }
                consumer.cancel()
                // The consumer ends (no hang) once cancelled; what it counted is incidental.
                _ = try? await consumer.value
            }
        }
    }

    @Test func unaryCallsFailOverToALiveMember() async throws {
        try await EtcdTestCluster.with(members: 3) { cluster in
            await cluster.kill(member: 0)
            // A killed leader leaves the others without one for a moment: requests would wait.
            try await cluster.waitUntilHealthy()
            try await Self.withClient(cluster.clientURLs) { client in
                #expect(client.currentEndpoint == cluster.clientURLs[0])
                // A watch, too, passes over the dead member.
                var messages = client.watch(prefix: "/f", fromRevision: 1).makeAsyncIterator()
                guard case .created = try await messages.next() else { Issue.record("the watch was not created"); return }
                #expect(client.currentEndpoint != cluster.clientURLs[0])
                let revision = try await client.put(key: "/f", value: Self.bytes("x"))
                #expect(client.currentEndpoint != cluster.clientURLs[0])
                #expect(try await client.get(key: "/f")?.modRevision == revision)
                #expect(try await client.status().endpoint != cluster.clientURLs[0])

                // The member that answered stays current; once it dies too, the third one answers.
                let current = try #require(cluster.clientURLs.firstIndex(of: client.currentEndpoint))
                try await cluster.restart(member: 0)
                await cluster.kill(member: current)
                try await cluster.waitUntilHealthy()
                #expect(try await client.get(key: "/f")?.value == Self.bytes("x"))
                #expect(client.currentEndpoint != cluster.clientURLs[current])
            }
        }
    }

    @Test func allEndpointsDownIsUnavailableQuicklyNamingEach() async throws {
        try await withRefusingLoopbackPort { first in
            try await withRefusingLoopbackPort { second in
                try await withRefusingLoopbackPort { third in
                    let endpoints = try [first, second, third].map { port in try #require(URL(string: "http://127.0.0.1:\(port)")) }
                    // Refused connections must fail at once, not wait out the request timeout: a
                    // minute of it, and half of that as the bound (a loaded machine is not a failure).
                    try await Self.withClient(endpoints, requestTimeout: .seconds(60)) { client in
                        let clock = ContinuousClock()
                        let started = clock.now
                        let error = await Self.etcdError { try await client.put(key: "/down", value: []) }
                        #expect(clock.now - started < .seconds(30), "waited for the request timeout")
                        #expect(error?.code == .unavailable)
                        for port in [first, second, third] { #expect(error?.message.contains("127.0.0.1:\(port)") == true, "\(String(describing: error))") }
                    }
                }
            }
        }
    }

    @Test func allMembersOfAClusterDownIsUnavailable() async throws {
        try await EtcdTestCluster.with(members: 3) { cluster in
            for index in 0..<3 { await cluster.kill(member: index) }
            try await Self.withClient(cluster.clientURLs, requestTimeout: .seconds(60)) { client in
                let clock = ContinuousClock()
                let started = clock.now
                let error = await Self.etcdError { _ = try await client.get(key: "/k") }
                #expect(clock.now - started < .seconds(30), "waited for the request timeout")
                #expect(error?.code == .unavailable)
                for url in cluster.clientURLs { #expect(error?.message.contains(url.absoluteString) == true) }
            }
        }
    }

    @Test func authenticatesAndRejectsAWrongPassword() async throws {
        try await EtcdTestCluster.with { cluster in
            try await cluster.etcdctl(["user", "add", "root:pw", "--interactive=false"])
            try await cluster.etcdctl(["auth", "enable"])
            try await Self.withClient(cluster.clientURLs, username: "root", password: "pw") { client in
                let revision = try await client.put(key: "/secret", value: Self.bytes("s"))
                #expect(try await client.get(key: "/secret")?.modRevision == revision)
                // Disabling and enabling auth drops every token (shown with one taken now): the
                // client's next call is refused, and it re-authenticates once.
                let token = try await Self.authenticate(cluster.clientURLs[0], "root", "pw")
                #expect(try await Self.rawGet(cluster.clientURLs[0], token: token).status == 200)
                try await cluster.etcdctl(["--user", "root:pw", "auth", "disable"])
                try await cluster.etcdctl(["auth", "enable"])
                let refused = try await Self.rawGet(cluster.clientURLs[0], token: token)
                #expect(refused.status == 401 && refused.text.contains("invalid auth token"), "\(refused)")
                #expect(try await client.get(key: "/secret")?.value == Self.bytes("s"))
                var messages = client.watch(prefix: "/secret", fromRevision: revision).makeAsyncIterator()
                #expect(try await messages.next() == .created(revision: revision))
                guard case .events(_, let events) = try await messages.next() else { Issue.record("no events over auth"); return }
                #expect(events.map(\.kv.key) == ["/secret"])
            }
            try await Self.withClient(cluster.clientURLs, username: "root", password: "wrong") { client in
                let error = await Self.etcdError { _ = try await client.get(key: "/secret") }
                #expect(error?.code == .unauthenticated, "\(String(describing: error))")
            }
            try await Self.withClient(cluster.clientURLs) { client in
                let error = await Self.etcdError { _ = try await client.get(key: "/secret") }
                #expect(error?.code == .unauthenticated, "\(String(describing: error))")
            }
        }
    }

    @Test func talksToAMemberOverTLSWithAClientCertificate() async throws {
        let tls = try await EtcdTestTLS.make()
        defer { tls.remove() }
        try await EtcdTestCluster.with(tls: tls) { cluster in
            #expect(cluster.clientURLs[0].scheme == "https")
            // Shut down on every path: a client dropped unshut traps in AsyncHTTPClient's deinit.
            try await Self.withClient(cluster.clientURLs, tls: tls.clientFiles) { client in
                let revision = try await client.put(key: "/tls", value: Self.bytes("t"))
                #expect(try await client.get(key: "/tls")?.modRevision == revision)
                var messages = client.watch(prefix: "/tls", fromRevision: revision).makeAsyncIterator()
                #expect(try await messages.next() == .created(revision: revision))
            }

            // Without the client certificate etcd refuses the handshake; without the CA the
            // client refuses etcd's certificate.
            for files in [EtcdTLSFiles(caFile: tls.caFile), EtcdTLSFiles(certFile: tls.clientCertFile, keyFile: tls.clientKeyFile)] {
                let refused = EtcdClient(configuration: .init(endpoints: cluster.clientURLs, tls: files), logger: Logger(label: "etcd-tls-test"))
                let error = await Self.etcdError { _ = try await refused.get(key: "/tls") }
                await refused.shutdown()
                #expect(error?.code == .unavailable, "\(String(describing: error))")
            }
            // A TLS file that cannot be read fails every call with its path.
            let broken = EtcdClient(configuration: .init(endpoints: cluster.clientURLs, tls: EtcdTLSFiles(caFile: "/nonexistent/ca.pem")), logger: Logger(label: "etcd-tls-test"))
            let error = await Self.etcdError { _ = try await broken.get(key: "/tls") }
            await broken.shutdown()
            #expect(error?.message.contains("/nonexistent/ca.pem") == true, "\(String(describing: error))")
        }
    }
}
