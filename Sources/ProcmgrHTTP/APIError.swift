import Hummingbird

/// A request the API answers with a 4xx/5xx and a JSON `{"error": …}` body.
///
/// Handlers throw it; ``APIResponder`` turns it into the response, so every
/// error leaves the server in the same shape whichever layer raised it.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String
    /// Extra fields of the JSON body, e.g. `problems` of a rejected config.
    var problems: [String]?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, problems: [String]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.problems = problems
        self.headers = headers
    }

    static func notFound(path: String) -> Self {
        Self(.notFound, "no route for \(EchoedInput.excerpt(path))")
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> Self {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        return Self(.methodNotAllowed, "method \(EchoedInput.excerpt(method.rawValue)) not allowed; use \(allow)", headers: [.allow: allow])
    }

    /// No `Connection: close`: Hummingbird discards the unread rest of the
    /// body itself, so the connection stays usable, and it would not close it
    /// on a response header anyway.
    static func bodyTooLarge(limit: Int) -> Self {
        Self(.contentTooLarge, "request body larger than \(limit) bytes")
    }

    static var requestLineTooLong: Self {
        Self(.uriTooLong, "request line longer than \(HTTPWireLimits.maxRequestLineBytes) bytes")
    }

    static var requestHeadersTooLarge: Self {
        Self(
            .requestHeaderFieldsTooLarge,
            "request header fields larger than \(HTTPWireLimits.maxHeaderFieldBytes) bytes each, "
                + "\(HTTPWireLimits.maxHeaderListBytes) bytes in all, or more than \(HTTPWireLimits.maxHeaderFieldCount)")
    }

    static var unauthorized: Self {
        Self(.unauthorized, "missing or wrong bearer token", headers: [.wwwAuthenticate: "Bearer"])
    }

    static var forbidden: Self {
        Self(.forbidden, "mutating requests are disabled: the listener is not loopback and no API token is configured")
    }

    /// The status each backend failure code maps to.
    init(_ error: AgentActionError) {
        switch error.code {
        case .notFound: self.init(.notFound, error.message)
        case .invalidConfig: self.init(.unprocessableContent, error.message, problems: error.problems)
        case .conflict: self.init(.conflict, error.message)
        case .badRequest: self.init(.badRequest, error.message)
        default: self.init(.internalServerError, error.message)
        }
    }

    /// The JSON body: `{"error": message}`, plus `problems` when present.
    var body: ErrorBody {
        ErrorBody(error: message, problems: problems)
    }
}

/// `{"error": "…", "problems": [...]}`; `problems` only when there are some.
struct ErrorBody: Encodable, Sendable {
    let error: String
    let problems: [String]?
}
