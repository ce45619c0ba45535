import AsyncHTTPClient
import Foundation
import ProcmgrEngine

/// One `GET` of the admin URL: token, conditional request, size limit, timeout.
///
/// Everything that can go wrong comes back as an `AdminSourceError` whose message names the URL
/// or file and what to fix; the poll loop only counts, logs and backs off.
struct AdminFetcher: Sendable {
    enum Outcome: Sendable, Hashable {
        case body(Data, etag: String?)
        case notModified
    }

    let url: URL
    let tokenFile: String?
    let maxBodyBytes: Int
    let client: HTTPClient

    /// - Parameter timeout: for the whole exchange, body included. AsyncHTTPClient's own deadline
    ///   stops at the response head, so a service that trickles a body would otherwise hold the
    ///   poll loop forever.
    func fetch(ifNoneMatch: String?, timeout: Duration) async throws(AdminSourceError) -> Outcome {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        // Read on every poll, so a rotated token is picked up without a restart.
        if let token = try bearerToken() {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let ifNoneMatch {
            request.headers.add(name: "If-None-Match", value: ifNoneMatch)
        }
        let prepared = request
        do {
            return try await withThrowingTaskGroup(of: Outcome?.self) { group in
                group.addTask { try await exchange(prepared, conditional: ifNoneMatch != nil, timeout: timeout) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let first else { throw timedOut(after: timeout) }
                return first
            }
        } catch {
            throw classify(error, timeout: timeout)
        }
    }

    private func exchange(_ request: HTTPClientRequest, conditional: Bool, timeout: Duration) async throws -> Outcome {
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
        let status = Int(response.status.code)
        switch status {
        case 200..<300:
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBodyBytes {
                throw tooLarge(announced: length)
            }
            var data = Data()
            for try await chunk in response.body {
                guard data.count + chunk.readableBytes <= maxBodyBytes else { throw tooLarge(announced: nil) }
                data.append(contentsOf: chunk.readableBytesView)
            }
            return .body(data, etag: response.headers.first(name: "ETag"))
        case 304 where conditional:
            return .notModified
        default:
            var excerpt = Data()
            for try await chunk in response.body where excerpt.count < 200 {
                excerpt.append(contentsOf: chunk.readableBytesView.prefix(200 - excerpt.count))
            }
            throw badStatus(status, reason: response.status.reasonPhrase, excerpt: excerpt)
        }
    }

    /// The token from `tokenFile`, trimmed; `nil` when no token is configured.
    func bearerToken() throws(AdminSourceError) -> String? {
        guard let tokenFile else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: tokenFile))
        } catch {
            let reason = FileManager.default.fileExists(atPath: tokenFile)
                ? "cannot be read (\(error.localizedDescription))" : "does not exist"
            throw AdminSourceError(
                code: .token,
                message: "admin.token_file \(tokenFile) \(reason): put the admin service's bearer token in it; polling resumes by itself")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw AdminSourceError(
                code: .token, message: "admin.token_file \(tokenFile) is empty: put the admin service's bearer token in it")
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw AdminSourceError(
                code: .token,
                message: "admin.token_file \(tokenFile) holds spaces, line breaks or non-ASCII characters: a bearer token is one line of printable ASCII")
        }
        return token
    }

    private func classify(_ error: any Error, timeout: Duration) -> AdminSourceError {
        if let error = error as? AdminSourceError { return error }
        if let error = error as? HTTPClientError,
           [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            return timedOut(after: timeout)
        }
        return AdminSourceError(
            code: .unreachable,
            message: "admin service \(url.absoluteString) unreachable (\(error)): check that it runs and admin.url is right")
    }

    private func timedOut(after timeout: Duration) -> AdminSourceError {
        AdminSourceError(
            code: .timeout,
            message: "admin service \(url.absoluteString) did not answer within \(timeout): check that it runs and admin.url is right")
    }

    private func tooLarge(announced: Int?) -> AdminSourceError {
        let size = announced.map { "a \($0)-byte body" } ?? "a body"
        return AdminSourceError(
            code: .bodyTooLarge,
            message: "admin service \(url.absoluteString) sent \(size), over the limit of \(maxBodyBytes) bytes: check that admin.url points at the process list")
    }

    private func badStatus(_ status: Int, reason: String, excerpt: Data) -> AdminSourceError {
        let hint: String = switch (status, tokenFile) {
        case (401, let file?), (403, let file?): "check the token in \(file)"
        case (401, nil), (403, nil): "the service wants a token: set admin.token_file"
        case (304, _): "it answered 304 to a request without If-None-Match"
        default: "check the service"
        }
        let body = String(decoding: excerpt, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return AdminSourceError(
            code: .badStatus,
            message: "admin service \(url.absoluteString) answered HTTP \(status) \(reason)\(body.isEmpty ? "" : " (\(body))"): \(hint)")
    }
}
