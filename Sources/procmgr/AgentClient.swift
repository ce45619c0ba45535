import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The client commands' way to the agent's API: one `HTTPClient` per command, the bearer token
/// when one is known, and every failure turned into a ``ClientFailure`` whose code scripts can
/// rely on (``ClientExitCode``) and whose message is the agent's own JSON `error`.
struct AgentClient: Sendable {
    let endpoint: AgentEndpoint
    private let http: HTTPClient

    /// Largest JSON answer read (the process list of a big agent, a 10,000-line log tail).
    static let maxBodyBytes = 64 << 20
    /// How long a request may take to be answered (a restart waits for nothing, a reload
    /// validates the config before it answers).
    static let answerTimeout: TimeAmount = .seconds(60)

    /// Runs `body` with a client and shuts it down afterwards, whatever happens.
    @discardableResult
    static func with<Result>(_ endpoint: AgentEndpoint, _ body: (AgentClient) async throws -> Result) async throws -> Result {
        // The read timeout notices a stream whose connection died silently: the agent sends a
        // keep-alive comment every 15 s, so three missed ones mean it is gone.
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(45))
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let client = AgentClient(endpoint: endpoint, http: http)
        do {
            let result = try await body(client)
            try? await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// `GET path`, the body of a 200 answer.
    func get(_ path: String) async throws(ClientFailure) -> Data {
        try await send(.GET, path)
    }

    /// `POST path` (an action), the body of a 200 answer.
    @discardableResult
    func post(_ path: String) async throws(ClientFailure) -> Data {
        try await send(.POST, path)
    }

    /// Opens a Server-Sent Events stream: the body once the agent answered 200.
    func openStream(_ path: String, lastEventID: String?) async throws(ClientFailure) -> HTTPClientResponse.Body {
        var request = makeRequest(.GET, path)
        request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let response = try await execute(request)
        guard response.status == .ok else {
            throw failure(status: Int(response.status.code), body: await collect(response.body))
        }
        let type = response.headers.first(name: "Content-Type") ?? ""
        guard type.lowercased().hasPrefix("text/event-stream") else {
            throw ClientFailure(code: .failure, message: "the agent at \(endpoint.baseURL) answered \(path) with \(type.isEmpty ? "no content type" : type), not an event stream")
        }
        return response.body
    }

    /// `id` as one path segment.
    static func segment(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: unreserved) ?? id
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private func send(_ method: HTTPMethod, _ path: String) async throws(ClientFailure) -> Data {
        let response = try await execute(makeRequest(method, path))
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw ClientFailure(code: .unreachable, message: "lost the agent at \(endpoint.baseURL) while reading its answer: \(error)")
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            throw failure(status: Int(response.status.code), body: Data(buffer: body))
        }
        return Data(buffer: body)
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint.baseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token = endpoint.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    private func execute(_ request: HTTPClientRequest) async throws(ClientFailure) -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: Self.answerTimeout)
        } catch {
            throw ClientFailure(code: .unreachable, message: "cannot reach the agent at \(endpoint.baseURL): \(error)")
        }
    }

    private func collect(_ body: HTTPClientResponse.Body) async -> Data {
        (try? await body.collect(upTo: 1 << 20)).map { Data(buffer: $0) } ?? Data()
    }

    /// The agent's JSON error (`{"error": …, "problems": […]}`) as a failure with the status's code.
    private func failure(status: Int, body: Data) -> ClientFailure {
        let code = ClientExitCode(httpStatus: status)
        guard let answer = try? JSONDecoder().decode(ErrorAnswer.self, from: body) else {
            let text = String(decoding: body.prefix(500), as: UTF8.self)
            return ClientFailure(code: code, message: "the agent at \(endpoint.baseURL) answered \(status)\(text.isEmpty ? "" : ": \(text)")",
                                 httpStatus: status)
        }
        return ClientFailure(code: code, message: answer.error, details: answer.problems ?? [], httpStatus: status)
    }

    private struct ErrorAnswer: Decodable {
        let error: String
        let problems: [String]?
    }
}
