import Hummingbird
import Logging

/// The outermost responder: routing errors, error bodies and request metrics
/// for every request, matched or not.
///
/// Router middleware would not do: Hummingbird runs it only for matched
/// routes, and unknown paths and methods must also get JSON errors and be
/// counted. So this wraps the whole router and guarantees, in one place, that
/// every response is either the handler's or a JSON `{"error": …}` — whatever
/// was thrown — and that the server keeps serving.
struct APIResponder<Base: HTTPResponder>: HTTPResponder where Base.Context: RequestContext {
    typealias Context = Base.Context

    let base: Base
    let routes: RouteTable
    let metrics: HTTPMetrics

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        let handler: String
        var response: Response
        // The raw-byte guard measures request lines as they arrive; one that followed a body in
        // the same read slipped past it and is caught here, under the decoder's own limit.
        if (request.head.path?.utf8.count ?? 0) > HTTPWireLimits.maxRequestLineBytes {
            response = JSONResponse.make(.requestLineTooLong)
            metrics.record(handler: HTTPMetrics.otherHandler, code: response.status.code, duration: ContinuousClock.now - start)
            return response
        }
        switch routes.match(method: request.method, path: request.uri.path) {
        case .unknownPath:
            handler = HTTPMetrics.otherHandler
            response = JSONResponse.make(.notFound(path: request.uri.path))
        case .methodNotAllowed(let template, let allowed):
            handler = template
            response = JSONResponse.make(.methodNotAllowed(request.method, allowed: allowed))
        case .handled(let template) where request.method == .head:
            handler = template
            response = Self.headOnly(await respondSafely(to: Self.asGET(request), context: context))
        case .handled(let template):
            handler = template
            response = await respondSafely(to: request, context: context)
        }
        metrics.record(handler: handler, code: response.status.code, duration: ContinuousClock.now - start)
        return response
    }

    private func respondSafely(to request: Request, context: Context) async -> Response {
        do {
            let response = try await base.respond(to: request, context: context)
            return Self.jsonIfBareError(response)
        } catch let error as APIError {
            if error.status.kind == .serverError {
                context.logger.error("request failed", metadata: ["error": "\(error.message)", "path": "\(request.uri.path)"])
            }
            return JSONResponse.make(error)
        } catch let error as HTTPError {
            return JSONResponse.make(APIError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers))
        } catch let error as any HTTPResponseError {
            return JSONResponse.make(APIError(error.status, error.status.reasonPhrase))
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return JSONResponse.make(APIError(.internalServerError, "internal error"))
        }
    }

    /// The same request as a GET: the router has GET routes only.
    private static func asGET(_ request: Request) -> Request {
        var head = request.head
        head.method = .get
        return Request(head: head, body: request.body)
    }

    /// The GET response's status and headers (its `Content-Length` included) without the body.
    /// Every API body is a buffer of known length, so the length is always there.
    private static func headOnly(_ response: Response) -> Response {
        var headers = response.headers
        if headers[.contentLength] == nil, let length = response.body.contentLength {
            headers[.contentLength] = String(length)
        }
        return Response(status: response.status, headers: headers, body: ResponseBody())
    }

    /// An error response Hummingbird built itself (the router turns thrown
    /// `HTTPResponseError`s into responses, with an empty or differently shaped
    /// body) gets the API's JSON error body instead; handler responses, which
    /// are already JSON or `/metrics` text, pass through untouched.
    private static func jsonIfBareError(_ response: Response) -> Response {
        guard response.status.code >= 400,
            response.headers[.contentType] != JSONResponse.contentType
        else { return response }
        var headers = response.headers
        headers[.contentType] = nil
        headers[.contentLength] = nil
        return JSONResponse.make(APIError(response.status, response.status.reasonPhrase, headers: headers))
    }
}
