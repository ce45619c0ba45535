public import Foundation
import AsyncHTTPClient
public import Logging
import NIOCore
import NIOSSL
import ProcmgrSupport

/// An etcd v3 client over etcd's JSON gateway (`/v3/...`, etcd 3.4) on AsyncHTTPClient.
///
/// Unary calls fail over: the current endpoint first, then every other one once, in the
/// configured order; an endpoint that answered becomes current. A refused connection fails at
/// once (no connection retries inside the HTTP client), so a dead member costs microseconds and
/// a black-holed one `connectTimeout`. With a username, the client authenticates before its
/// first call and once more when etcd says the token is invalid.
///
/// A unary call may be retried on the next endpoint after it timed out on one, so a
/// non-idempotent transaction can in rare cases have run when the call reports a failure: the
/// callers' transactions compare before they write.
public final class EtcdClient: Sendable {
    let configuration: EtcdClientConfiguration
    let logger: Logger
    let http: HTTPClient
    /// The current endpoint's index and the auth token.
    let state: LockedState<State>
    /// Set when the configuration could not be turned into an HTTP client (a TLS file that
    /// cannot be read): every call throws it.
    let setupError: EtcdError?

    struct State: Sendable {
        var current = 0
        var token: String?
    }

    /// The largest unary response body read (one page of a range at most).
    static let responseLimit = 64 << 20
    /// The largest single watch message.
    static let watchMessageLimit = 16 << 20

    /// Owns its HTTPClient (on the singleton event loop group); call ``shutdown()``.
    public init(configuration: EtcdClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        state = LockedState(State())
        var tls: TLSConfiguration?
        var setupError: EtcdError?
        do {
            tls = try configuration.tls.map(Self.tlsConfiguration)
        } catch {
            setupError = error
        }
        if configuration.endpoints.isEmpty {
            setupError = EtcdError(.unavailable, "no etcd endpoints configured")
        }
        self.setupError = setupError
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: Self.timeAmount(configuration.connectTimeout)))
        http.connectionPool.retryConnectionEstablishment = false
        // The gateway speaks HTTP/1.1 on every port; HTTP/2 over TLS would reach the gRPC server.
        http.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    public func shutdown() async {
        do {
            try await http.shutdown()
        } catch {
            logger.debug("etcd client shutdown: \(error)")
        }
    }

    /// The endpoint unary calls try first: the last one that answered.
    public var currentEndpoint: URL {
        let index = state.withLock { $0.current }
        return configuration.endpoints.isEmpty ? URL(fileURLWithPath: "/") : configuration.endpoints[index]
    }

    /// Endpoint indices in the order a call tries them: the current one, then the others in order.
    func endpointOrder() -> [Int] {
        let current = state.withLock { $0.current }
        return [current] + configuration.endpoints.indices.filter { $0 != current }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    static func tlsConfiguration(_ files: EtcdTLSFiles) throws(EtcdError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile = files.caFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certFile = files.certFile {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            }
            if let keyFile = files.keyFile {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
        } catch {
            throw EtcdError(.rejected, "etcd TLS files (ca \(files.caFile ?? "-"), cert \(files.certFile ?? "-"), key \(files.keyFile ?? "-")): \(error)")
        }
        return tls
    }
}
