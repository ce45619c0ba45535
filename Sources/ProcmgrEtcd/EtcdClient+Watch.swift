import AsyncHTTPClient
import Foundation
import NIOCore

/// Watches: one streamed POST /v3/watch per stream.
extension EtcdClient {
    /// One watch stream on one endpoint (tries endpoints in order until one accepts); ends
    /// (finishes normally) after .compacted/.canceled; throws EtcdError when the connection is lost.
    /// No reconnect inside: the caller resumes from its last revision + 1.
    /// `progressNotify` asks etcd for progress messages. Cancelling the consuming task (or
    /// dropping the stream) closes the request.
    ///
    /// Bounded: one message is at most 16 MiB, and at most 1024 messages wait for the consumer;
    /// beyond either the stream throws .tooLarge after the messages before it (the caller resumes
    /// from its last revision + 1, as after a lost connection).
    public func watch(prefix: String, fromRevision: Int64, progressNotify: Bool = true) -> AsyncThrowingStream<EtcdWatchMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: EtcdWatchMessage.self, bufferingPolicy: .bufferingOldest(Self.watchQueueLimit))
        let task = Task {
            do throws(EtcdError) {
                try await self.runWatch(prefix: prefix, fromRevision: fromRevision, progressNotify: progressNotify) { message in
                    switch continuation.yield(message) {
                    case .enqueued: .delivered
                    case .dropped: .queueFull
                    case .terminated: .consumerGone
                    @unknown default: .consumerGone
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The most messages waiting for a watch's consumer.
    static let watchQueueLimit = 1024

    /// What became of one delivered message.
    enum Delivery {
        case delivered
        case queueFull
        case consumerGone
    }

    /// Opens the watch on the first endpoint that accepts it and delivers its messages until
    /// etcd ends the watch or the consumer goes (returns) or the connection fails (throws).
    private func runWatch(
        prefix: String, fromRevision: Int64, progressNotify: Bool, deliver: (EtcdWatchMessage) -> Delivery
    ) async throws(EtcdError) {
        if let setupError { throw setupError }
        let create: EtcdJSON.Object = [
            "create_request": [
                "key": EtcdJSON.base64(prefix.isEmpty ? [0] : Array(prefix.utf8)),
                "range_end": EtcdJSON.base64(EtcdKeys.prefixEnd(prefix)),
                "start_revision": String(fromRevision),
                "progress_notify": progressNotify,
            ] as EtcdJSON.Object
        ]
        var renewed = false
        while true {
            let endpoint: URL
            let body: HTTPClientResponse.Body
            do {
                (endpoint, body) = try await openWatch(create)
            } catch {
                switch error {
                case .failure(let error):
                    throw error
                case .tokenInvalid(let error):
                    guard configuration.username != nil, !renewed else { throw error }
                    renewed = true
                    state.withLock { $0.token = nil }
                    continue
                }
            }
            let what = "\(endpoint) watch \(prefix)"
            var decoder = EtcdWatchStreamDecoder(limit: Self.watchMessageLimit, what: what)
            do {
                for try await chunk in body {
                    for decoded in try decoder.feed(chunk.readableBytesView) {
                        switch decoded {
                        case .message(let message):
                            switch deliver(message) {
                            case .delivered:
                                break
                            case .queueFull:
                                throw EtcdError(.tooLarge, "\(what): the consumer fell \(Self.watchQueueLimit) messages behind")
                            case .consumerGone:
                                return
                            }
                            if case .compacted = message { return }
                            if case .canceled = message { return }
                        case .tokenInvalid(let message):
                            guard configuration.username != nil, !renewed else { throw EtcdError(.unauthenticated, message) }
                            renewed = true
                            state.withLock { $0.token = nil }
                            throw WatchRestart()
                        }
                    }
                }
            } catch is WatchRestart {
                continue
            } catch let error as EtcdError {
                throw error
            } catch {
                if Task.isCancelled { return }
                throw EtcdError(.unavailable, "\(what): the stream failed: \(error)")
            }
            if Task.isCancelled { return }
            throw EtcdError(.unavailable, "\(what): etcd ended the stream")
        }
    }

    private struct WatchRestart: Error {}

    /// POSTs the create request to each endpoint in turn until one answers 200.
    private func openWatch(_ create: EtcdJSON.Object) async throws(CallFailure) -> (URL, HTTPClientResponse.Body) {
        let token: String?
        do {
            token = try await self.token(renew: false)
        } catch {
            throw .failure(error)
        }
        let payload = EtcdJSON.encode(create)
        var failures: [String] = []
        for index in endpointOrder() {
            let endpoint = configuration.endpoints[index]
            var request = HTTPClientRequest(url: Self.url(endpoint, "/v3/watch"))
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let token { request.headers.add(name: "Authorization", value: token) }
            request.body = .bytes(ByteBuffer(bytes: payload))
            do {
                // No deadline: the stream lives until etcd, the connection or the consumer ends it.
                let response = try await http.execute(request, deadline: .distantFuture, logger: logger)
                if response.status == .ok {
                    state.withLock { $0.current = index }
                    return (endpoint, response.body)
                }
                let body = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
                switch Self.classify(status: response.status, body: body, context: "\(endpoint) POST /v3/watch") {
                case .failed(let error):
                    throw CallFailure.failure(error)
                case .tokenInvalid(let error):
                    throw CallFailure.tokenInvalid(error)
                case .endpointFailed(let reason, _):
                    failures.append("\(endpoint): \(reason)")
                case .answered:
                    failures.append("\(endpoint): HTTP \(response.status.code)")
                }
            } catch let failure as CallFailure {
                throw failure
            } catch {
                failures.append("\(endpoint): \(error)")
            }
        }
        throw .failure(EtcdError(.unavailable, "POST /v3/watch: no etcd endpoint accepted the watch: \(failures.joined(separator: "; "))"))
    }

    enum WatchParse {
        case message(EtcdWatchMessage)
        case tokenInvalid(EtcdError)
    }

    /// One message of the stream: `{"result": WatchResponse}` or `{"error": {…}}`.
    static func watchMessage(_ data: Data, what: String) throws(EtcdError) -> WatchParse {
        let object = try EtcdJSON.object(data, what: what)
        if let error = object["error"] {
            // The gateway's stream error is an object; a bare value reads like the unary form.
            let detail = error as? EtcdJSON.Object ?? ["error": error]
            // Absent: the gateway did not say, so another member may do better (as a 5xx).
            let statusCode = (detail["http_code"] as? NSNumber)?.intValue ?? 500
            switch classify(statusCode: statusCode, object: detail, raw: data, context: what) {
            case .tokenInvalid(let error):
                return .tokenInvalid(error)
            case .failed(let error):
                throw error
            case .endpointFailed(let reason, _):
                throw EtcdError(.unavailable, "\(what): \(reason)")
            case .answered:
                throw EtcdError(.invalidResponse, "\(what): an error message that reads as an answer: \(EtcdJSON.preview(data))")
            }
        }
        guard let result = object["result"] as? EtcdJSON.Object else {
            throw EtcdError(.invalidResponse, "\(what): a message with neither result nor error: \(EtcdJSON.preview(data))")
        }
        let revision = try EtcdJSON.headerRevision(result, what: what)
        if result["canceled"] as? Bool == true {
            let compactRevision = try EtcdJSON.int64(result, "compact_revision", what: what)
            if compactRevision > 0 { return .message(.compacted(compactRevision: compactRevision)) }
            return .message(.canceled(reason: result["cancel_reason"] as? String ?? ""))
        }
        if result["created"] as? Bool == true { return .message(.created(revision: revision)) }
        let events = result["events"] as? [EtcdJSON.Object] ?? []
        if events.isEmpty { return .message(.progress(revision: revision)) }
        var parsed: [EtcdEvent] = []
        parsed.reserveCapacity(events.count)
        for event in events {
            let kv = try EtcdJSON.keyValue(event["kv"] as? EtcdJSON.Object ?? [:], what: what)
            let kind: EtcdEvent.Kind = (event["type"] as? String) == "DELETE" ? .delete : .put
            parsed.append(EtcdEvent(kind: kind, kv: kv))
        }
        return .message(.events(revision: revision, parsed))
    }
}
