import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Unary calls: one POST of a JSON object, with failover across endpoints and authentication.
extension EtcdClient {
    /// How one attempt on one endpoint ended.
    enum Attempt {
        case answered(EtcdJSON.Object)
        /// The endpoint could not serve it (connection, timeout, no leader): try the next one.
        case endpointFailed(String, timedOut: Bool)
        /// etcd answered with an error that another endpoint would repeat.
        case failed(EtcdError)
        /// The token was missing or expired.
        case tokenInvalid(EtcdError)
    }

    /// POSTs `body` to `path` (e.g. `/v3/kv/range`), authenticating as needed.
    func call(_ path: String, _ body: EtcdJSON.Object) async throws(EtcdError) -> EtcdJSON.Object {
        try await callReturningEndpoint(path, body).answer
    }

    /// ``call(_:_:)``, also returning the endpoint that answered.
    func callReturningEndpoint(_ path: String, _ body: EtcdJSON.Object) async throws(EtcdError) -> (endpoint: URL, answer: EtcdJSON.Object) {
        if let setupError { throw setupError }
        var renewed = false
        while true {
            let token = try await token(renew: false)
            do {
                return try await callAnyEndpoint(path, body, token: token)
            } catch {
                switch error {
                case .tokenInvalid(let error):
                    guard configuration.username != nil, !renewed else { throw error }
                    renewed = true
                    _ = try await self.token(renew: true)
                case .failure(let error):
                    throw error
                }
            }
        }
    }

    /// The auth token, authenticating first when there is none (or `renew`); nil without a username.
    func token(renew: Bool) async throws(EtcdError) -> String? {
        guard let username = configuration.username else { return nil }
        if !renew, let token = state.withLock({ $0.token }) { return token }
        let body: EtcdJSON.Object = ["name": username, "password": configuration.password ?? ""]
        let answer: EtcdJSON.Object
        do {
            answer = try await callAnyEndpoint("/v3/auth/authenticate", body, token: nil).answer
        } catch {
            let error = switch error {
            case .tokenInvalid(let error), .failure(let error): error
            }
            throw error.code == .unavailable || error.code == .timeout ? error : EtcdError(.unauthenticated, error.message)
        }
        guard let token = answer["token"] as? String, !token.isEmpty else {
            throw EtcdError(.invalidResponse, "POST /v3/auth/authenticate: no token in the answer")
        }
        state.withLock { $0.token = token }
        return token
    }

    enum CallFailure: Error {
        case tokenInvalid(EtcdError)
        case failure(EtcdError)
    }

    /// Tries the current endpoint, then every other one once.
    private func callAnyEndpoint(_ path: String, _ body: EtcdJSON.Object, token: String?) async throws(CallFailure) -> (endpoint: URL, answer: EtcdJSON.Object) {
        let payload = EtcdJSON.encode(body)
        var failures: [String] = []
        var allTimedOut = true
        for index in endpointOrder() {
            let endpoint = configuration.endpoints[index]
            if Task.isCancelled {
                failures.append("\(endpoint): not tried, the call was cancelled")
                allTimedOut = false
                break
            }
            switch await attempt(endpoint, path, payload, token: token) {
            case .answered(let object):
                state.withLock { $0.current = index }
                return (endpoint, object)
            case .failed(let error):
                state.withLock { $0.current = index }
                throw .failure(error)
            case .tokenInvalid(let error):
                throw .tokenInvalid(error)
            case .endpointFailed(let reason, let timedOut):
                logger.debug("etcd endpoint failed", metadata: ["endpoint": "\(endpoint)", "path": "\(path)", "reason": "\(reason)"])
                failures.append("\(endpoint): \(reason)")
                allTimedOut = allTimedOut && timedOut
            }
        }
        throw .failure(EtcdError(allTimedOut ? .timeout : .unavailable, "POST \(path): no etcd endpoint answered: \(failures.joined(separator: "; "))"))
    }

    static func url(_ endpoint: URL, _ path: String) -> String {
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    private func attempt(_ endpoint: URL, _ path: String, _ payload: Data, token: String?) async -> Attempt {
        var request = HTTPClientRequest(url: Self.url(endpoint, path))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: token) }
        request.body = .bytes(ByteBuffer(bytes: payload))
        let deadline = NIODeadline.now() + Self.timeAmount(configuration.requestTimeout)
        let status: HTTPResponseStatus
        let body: ByteBuffer
        do {
            let response = try await http.execute(request, deadline: deadline, logger: logger)
            status = response.status
            body = try await response.body.collect(upTo: Self.responseLimit)
        } catch let error as NIOTooManyBytesError {
            return .failed(EtcdError(.tooLarge, "\(endpoint) POST \(path): the answer exceeds \(Self.responseLimit) bytes (\(error))"))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .endpointFailed("no answer within \(configuration.requestTimeout)", timedOut: true)
        } catch let error as HTTPClientError where error == .connectTimeout {
            return .endpointFailed("connect timed out after \(configuration.connectTimeout)", timedOut: true)
        } catch {
            return .endpointFailed(String(describing: error), timedOut: false)
        }
        let data = Data(body.readableBytesView)
        if status == .ok {
            do {
                return .answered(try EtcdJSON.object(data, what: "\(endpoint) POST \(path)"))
            } catch {
                return .failed(error)
            }
        }
        return Self.classify(status: status, body: data, context: "\(endpoint) POST \(path)")
    }

    /// Maps an error answer's body (`{"error": "etcdserver: …", "code": grpc code}`) to what to do.
    static func classify(status: HTTPResponseStatus, body: Data, context: String) -> Attempt {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? EtcdJSON.Object
        return classify(statusCode: Int(status.code), object: object, raw: body, context: context)
    }

    /// Maps an error etcd reported — an unary answer's body, or a watch stream's
    /// `{"error": {"grpc_code", "http_code", "message"}}` — to what to do. The status is a plain
    /// number: it may come off the wire (a watch message's `http_code`), where no value may trap.
    /// - Parameters:
    ///   - raw: the bytes the error came in, quoted when it has no message.
    ///   - context: what the message starts with (`http://…:2379 POST /v3/kv/range`).
    static func classify(statusCode: Int, object: EtcdJSON.Object?, raw: Data, context: String) -> Attempt {
        let text = (object?["message"] as? String) ?? (object?["error"] as? String) ?? EtcdJSON.preview(raw)
        let grpcCode = ((object?["code"] ?? object?["grpc_code"]) as? NSNumber)?.intValue
        let message = "\(context): HTTP \(statusCode): \(text)"
        if text.contains("invalid auth token") || text.contains("user name is empty") || text.contains("revision of auth store is old") {
            return .tokenInvalid(EtcdError(.unauthenticated, message))
        }
        if text.contains("authentication failed") || grpcCode == 16 {
            return .failed(EtcdError(.unauthenticated, message))
        }
        if text.contains("required revision has been compacted") {
            return .failed(EtcdError(.compacted, message))
        }
        if text.contains("requested lease not found") {
            return .failed(EtcdError(.leaseNotFound, message))
        }
        // Unavailable (14), deadline exceeded (4), or any 5xx (no leader, leader changed,
        // request timed out, stopping): another member may serve it.
        if grpcCode == 14 || grpcCode == 4 || statusCode >= 500 {
            return .endpointFailed("HTTP \(statusCode): \(text)", timedOut: grpcCode == 4)
        }
        return .failed(EtcdError(.rejected, message))
    }
}
