import AsyncHTTPClient
import Foundation
import Glibc
import Logging
import NIOCore
import ProcmgrEtcd
import ProcmgrRuntime
import ProcmgrSupport
import ProcmgrTestKit

/// Real etcd members (/usr/bin/etcd) on 127.0.0.1 for tests: 1 or 3 members on free ports with
/// fresh data directories, spawned with the agent test runtime (killed with the test process).
///
///     try await EtcdTestCluster.with(members: 3) { cluster in
///         let client = EtcdClient(configuration: .init(endpoints: cluster.clientURLs), logger: logger)
///         await cluster.kill(member: 0)           // SIGKILL member 0
///         try await cluster.restart(member: 0)    // same ports, same data directory; waits until healthy
///     }
///
/// Every start waits until each member answers `GET /health` with `{"health":"true"}` and fails
/// with the member's last output lines otherwise. Elections are fast (heartbeat 50 ms, election
/// timeout 500 ms) so a killed leader is replaced within about a second.
final class EtcdTestCluster: Sendable {
    /// One member's fixed identity: it keeps its ports and data directory across restarts.
    struct Member: Sendable {
        let name: String
        let clientURL: URL
        let peerURL: URL
        let dataDirectory: String
    }

    let members: [Member]
    /// The members' client URLs, in member order.
    var clientURLs: [URL] { members.map(\.clientURL) }
    func member(_ index: Int) -> Member { members[index] }

    private let arguments: [String]
    /// The TLS files the members serve with, if any.
    let tls: EtcdTestTLS?
    private let processes: LockedState<[Int: SpawnedProcess]>
    private let outputs: [LockedLines]

    /// Starts `count` members (extra etcd flags in `arguments`, e.g.
    /// `--experimental-watch-progress-notify-interval=1s`), runs `body`, then stops every member
    /// and removes the data directories, whether `body` threw or not.
    static func with<T>(
        members count: Int = 1, arguments: [String] = [], tls: EtcdTestTLS? = nil, _ body: (EtcdTestCluster) async throws -> T
    ) async throws -> T {
        let cluster = try await start(members: count, arguments: arguments, tls: tls)
        do {
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// The data directories of clusters not stopped yet: removed when the test process exits,
    /// for a caller whose `stop()` never ran (a `defer { Task { await cluster.stop() } }` is
    /// outlived by the process).
    private static let unstoppedRoots: LockedState<Set<String>> = {
        atexit {
            for root in EtcdTestCluster.unstoppedRoots.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: root) }
        }
        return LockedState([])
    }()

    /// Starts `count` members and waits until each is healthy; the caller must `stop()`.
    /// With `tls`, clients must connect with https, trust its CA and present its client
    /// certificate (`--client-cert-auth`); peers still speak http.
    static func start(members count: Int = 1, arguments: [String] = [], tls: EtcdTestTLS? = nil) async throws -> EtcdTestCluster {
        let root = try makeTemporaryDirectory()
        unstoppedRoots.withLock { _ = $0.insert(root) }
        var members: [Member] = []
        for index in 0..<count {
            members.append(Member(
                name: "m\(index)",
                clientURL: try loopbackURL(port: unusedPort(), scheme: tls == nil ? "http" : "https"),
                peerURL: try loopbackURL(port: unusedPort(), scheme: "http"),
                dataDirectory: "\(root)/m\(index)"))
        }
        let tlsArguments = tls.map {
            ["--cert-file", $0.serverCertFile, "--key-file", $0.serverKeyFile, "--trusted-ca-file", $0.caFile, "--client-cert-auth"]
        } ?? []
        let cluster = EtcdTestCluster(members: members, arguments: tlsArguments + arguments, tls: tls, token: URL(fileURLWithPath: root).lastPathComponent)
        do {
            for index in members.indices { try await cluster.spawn(index) }
            for index in members.indices { try await cluster.waitUntilHealthy(index) }
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    private init(members: [Member], arguments: [String], tls: EtcdTestTLS?, token: String) {
        self.members = members
        self.tls = tls
        let initialCluster = members.map { "\($0.name)=\($0.peerURL.absoluteString)" }.joined(separator: ",")
        self.arguments = [
            "--initial-cluster", initialCluster, "--initial-cluster-token", token, "--initial-cluster-state", "new",
            "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap",
        ] + arguments
        processes = LockedState([:])
        outputs = members.map { _ in LockedLines() }
    }

    /// The member's output so far (its last 200 lines), for failure messages.
    func output(_ index: Int) -> [String] { Array(outputs[index].all.suffix(200)) }

    /// Whether the member's process runs.
    func isRunning(_ index: Int) -> Bool {
        processes.withLock { $0[index] }.map { $0.exit.value == nil } ?? false
    }

    /// SIGKILLs the member and waits until it is gone.
    func kill(member index: Int) async { await end(index, signal: SIGKILL) }

    /// SIGTERMs the member and waits until it exited (SIGKILL after 10 s).
    func stop(member index: Int) async { await end(index, signal: SIGTERM) }

    /// Starts a stopped or killed member again on its ports and data directory; waits until healthy.
    func restart(member index: Int) async throws {
        guard !isRunning(index) else { throw AgentTestFailure("etcd member \(index) still runs") }
        try await spawn(index)
        try await waitUntilHealthy(index)
    }

    /// Kills every member and removes the data directories: the cluster is thrown away, so
    /// nothing is gained by a graceful stop (which, with members missing, can take seconds).
    func stop() async {
        for index in members.indices { await kill(member: index) }
        if let root = members.first.map({ URL(fileURLWithPath: $0.dataDirectory).deletingLastPathComponent().path }) {
            try? FileManager.default.removeItem(atPath: root)
            Self.unstoppedRoots.withLock { _ = $0.remove(root) }
        }
    }

    /// Runs `etcdctl ARGS` (API v3) against every member; returns its output, throws on failure.
    @discardableResult
    func etcdctl(_ arguments: [String]) async throws -> String {
        let endpoints = clientURLs.map(\.absoluteString).joined(separator: ",")
        let lines = LockedLines()
        let process = try await AgentTestRuntime.shared.spawner.spawn(SpawnSpec(
            arguments: ["/usr/bin/etcdctl", "--endpoints", endpoints] + arguments,
            environment: ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"], captureOutput: true, killWithParent: true))
        _ = try AgentTestRuntime.shared.capture.attach(name: "etcdctl", stdout: process.stdoutFD, stderr: process.stderrFD) { lines.append($0.text) }
        guard let status = await process.exit.wait(timeout: .seconds(30)) else {
            Glibc.kill(process.pid, SIGKILL)
            throw AgentTestFailure("etcdctl \(arguments) did not exit within 30 s: \(lines.all)")
        }
        guard case .exited(code: 0) = status else { throw AgentTestFailure("etcdctl \(arguments): \(status): \(lines.all)") }
        // The exit can overtake the last lines of output.
        try? await eventually("etcdctl output", timeout: .milliseconds(200)) { !lines.all.isEmpty }
        return lines.all.joined(separator: "\n")
    }

    /// Every port a cluster of this process was given. A killed member's ports are free until it
    /// restarts: without this, another test's cluster could be handed one of them, and a client
    /// of the first cluster would talk to the second.
    private static let portsGiven = LockedState<Set<Int>>([])

    /// A free loopback port no cluster of this process was given before.
    private static func unusedPort() throws -> Int {
        for _ in 0..<100 {
            let port = try freeLoopbackPort()
            if portsGiven.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw AgentTestFailure("no unused loopback port in 100 tries")
    }

    private static func loopbackURL(port: Int, scheme: String) throws -> URL {
        guard let url = URL(string: "\(scheme)://127.0.0.1:\(port)") else { throw AgentTestFailure("no URL for port \(port)") }
        return url
    }

    private func spawn(_ index: Int) async throws {
        let member = members[index]
        let process = try await AgentTestRuntime.shared.spawner.spawn(SpawnSpec(
            arguments: [
                "/usr/bin/etcd", "--name", member.name, "--data-dir", member.dataDirectory,
                "--listen-client-urls", member.clientURL.absoluteString, "--advertise-client-urls", member.clientURL.absoluteString,
                "--listen-peer-urls", member.peerURL.absoluteString, "--initial-advertise-peer-urls", member.peerURL.absoluteString,
            ] + arguments,
            environment: ["PATH": "/usr/bin:/bin"], captureOutput: true, killWithParent: true))
        let lines = outputs[index]
        _ = try AgentTestRuntime.shared.capture.attach(name: member.name, stdout: process.stdoutFD, stderr: process.stderrFD) { lines.append($0.text) }
        processes.withLock { $0[index] = process }
    }

    private func end(_ index: Int, signal: Int32) async {
        guard let process = processes.withLock({ $0[index] }), process.exit.value == nil else { return }
        Glibc.kill(process.pid, signal)
        if await process.exit.wait(timeout: .seconds(10)) == nil {
            Glibc.kill(process.pid, SIGKILL)
            _ = await process.exit.wait(timeout: .seconds(10))
        }
    }

    /// Waits until every running member is healthy (it has a leader): after a kill, before
    /// timing-sensitive steps.
    func waitUntilHealthy() async throws {
        for index in members.indices where isRunning(index) { try await waitUntilHealthy(index) }
    }

    private func waitUntilHealthy(_ index: Int) async throws {
        if let tls {
            try await waitUntilAnswering(index, tls: tls)
            return
        }
        let url = members[index].clientURL.absoluteString + "/health"
        var last = "no answer yet"
        try await eventually("etcd member \(index) (\(url)) is healthy; last: \(last); output: \(output(index).suffix(30))", timeout: .seconds(30), every: .milliseconds(50)) {
            guard isRunning(index) else { throw AgentTestFailure("etcd member \(index) exited; output: \(output(index).suffix(30))") }
            do {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
                let body = try await response.body.collect(upTo: 1 << 16)
                last = "HTTP \(response.status.code) \(String(buffer: body))"
                return response.status == .ok && last.contains(#""health":"true""#)
            } catch {
                last = "\(error)"
                return false
            }
        }
    }

    /// A TLS member is up when the etcd client (with the client certificate) can read a key —
    /// a linearizable read, so it has a leader, as `/health` says for the others (its status
    /// answers before that, and a put right after it failed in CI): the test target has no TLS of
    /// its own to ask /health with.
    private func waitUntilAnswering(_ index: Int, tls: EtcdTestTLS) async throws {
        let client = EtcdClient(
            configuration: .init(endpoints: [members[index].clientURL], tls: tls.clientFiles, requestTimeout: .seconds(2)),
            logger: Logger(label: "etcd-test-cluster"))
        var last = "no answer yet"
        do {
            try await eventually("etcd member \(index) (\(members[index].clientURL)) answers over TLS; last: \(last); output: \(output(index).suffix(30))",
                                 timeout: .seconds(30), every: .milliseconds(50)) {
                guard isRunning(index) else { throw AgentTestFailure("etcd member \(index) exited; output: \(output(index).suffix(30))") }
                do {
                    _ = try await client.get(key: "/procmgr-test/ready")
                    return true
                } catch {
                    last = "\(error)"
                    return false
                }
            }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI
/// in a fresh directory (removed by the caller with `remove()`).
struct EtcdTestTLS: Sendable {
    let directory: String
    var caFile: String { directory + "/ca.pem" }
    var serverCertFile: String { directory + "/server.pem" }
    var serverKeyFile: String { directory + "/server.key" }
    var clientCertFile: String { directory + "/client.pem" }
    var clientKeyFile: String { directory + "/client.key" }
    /// What an ``EtcdClient`` needs to connect.
    var clientFiles: EtcdTLSFiles { EtcdTLSFiles(caFile: caFile, certFile: clientCertFile, keyFile: clientKeyFile) }

    static func make() async throws -> EtcdTestTLS {
        let directory = try makeTemporaryDirectory()
        let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        let script = """
            set -e
            cd \(directory)
            openssl req -x509 \(key) -keyout ca.key -out ca.pem -days 2 -subj /CN=procmgr-test-ca
            for who in server client; do
              openssl req \(key) -keyout $who.key -out $who.csr -subj /CN=$who
            done
            # etcd's gateway dials its own gRPC server with the server certificate: client use too.
            printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            for who in server client; do
              openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $who.ext -out $who.pem
            done
            """
        let lines = LockedLines()
        let process = try await AgentTestRuntime.shared.spawner.spawn(SpawnSpec(
            arguments: ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], captureOutput: true, killWithParent: true))
        _ = try AgentTestRuntime.shared.capture.attach(name: "openssl", stdout: process.stdoutFD, stderr: process.stderrFD) { lines.append($0.text) }
        guard let status = await process.exit.wait(timeout: .seconds(30)), case .exited(code: 0) = status else {
            throw AgentTestFailure("making test certificates with openssl failed: \(lines.all)")
        }
        return EtcdTestTLS(directory: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
