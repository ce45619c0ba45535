import Hummingbird
import NIOCore

/// The handlers behind each route, over one backend.
///
/// Handlers only translate: parse the request, ask the backend, shape the
/// JSON. Every failure is thrown as ``APIError`` and rendered by ``APIResponder``.
struct AgentRoutes<Backend: AgentBackend>: Sendable {
    typealias Context = BasicRequestContext
    typealias Handler = @Sendable (Request, Context) async throws -> Response

    let backend: Backend
    let policy: MutationPolicy
    let maxBodyBytes: Int
    let metricsEndpoint: MetricsEndpoint<Backend>
    /// The SSE streams' cap, keep-alive ticker and series.
    let streams: ServerSentEventStreams

    /// Default and bounds of `?tail=` on the logs endpoint: enough for a
    /// screenful by default, capped so one request cannot ask for a whole buffer of history.
    static var defaultTail: Int { 100 }
    static var tailRange: ClosedRange<Int> { 1...10_000 }
    /// Bounds of `?replicas=` on the scale endpoint, as the config's `replicas:`.
    static var replicasRange: ClosedRange<Int> { 0...1_000 }

    /// Every route with its handler; the single list both the router and the
    /// ``RouteTable`` are built from.
    var all: [(RouteTable.Route, Handler)] {
        [
            (.init(method: .get, template: "/"), { _, _ in StatusPage.response() }),
            (.init(method: .get, template: "/metrics"), { request, _ in try metricsEndpoint.respond(to: request) }),
            (.init(method: .get, template: "/healthz"), { _, _ in JSONResponse.make(["status": "ok"]) }),
            (.init(method: .get, template: "/readyz"), { _, _ in readiness() }),
            (.init(method: .get, template: "/api/v1/processes"), { _, _ in JSONResponse.make(await backend.processes()) }),
            (.init(method: .get, template: "/api/v1/processes/{id}"), { _, context in try await process(context) }),
            (.init(method: .get, template: "/api/v1/processes/{id}/logs"), { request, context in try await logs(request, context) }),
            (.init(method: .post, template: "/api/v1/processes/{id}/restart"), { request, context in
                try await mutate(request) { () async throws(AgentActionError) in try await backend.restart(id: id(context)) }
            }),
            (.init(method: .post, template: "/api/v1/processes/{id}/stop"), { request, context in
                try await mutate(request) { () async throws(AgentActionError) in try await backend.stop(id: id(context)) }
            }),
            (.init(method: .post, template: "/api/v1/processes/{id}/scale"), { request, context in
                try await mutate(request) { () async throws(AgentActionError) in
                    try await backend.scale(id: id(context), replicas: Self.replicas(request))
                }
            }),
            (.init(method: .post, template: "/-/reload"), { request, _ in
                try await mutate(request) { () async throws(AgentActionError) in try await backend.reload() }
            }),
            (.init(method: .get, template: "/api/v1/routes"), { request, _ in try await routes(request) }),
            (.init(method: .get, template: "/api/v1/fleet/targets"), { _, _ in try await fleetTargets() }),
            (.init(method: .get, template: "/api/v1/openapi.json"), { _, _ in OpenAPIDocumentEndpoint.response() }),
            (.init(method: .get, template: "/api/v1/events"), { request, _ in try await events(request) }),
            (.init(method: .post, template: "/api/v1/processes/{id}/signal"), { request, context in
                try await mutate(request) { () async throws(AgentActionError) in
                    try await backend.signal(id: id(context), signal: Self.signalName(request))
                }
            }),
        ]
    }

    /// `GET /api/v1/fleet/targets`: Prometheus `http_sd` JSON of every registered agent.
    private func fleetTargets() async throws(APIError) -> Response {
        switch await backend.fleetTargets() {
        case .notConfigured:
            throw APIError(.notFound, "this agent has no fleet: agent.etcd is not configured")
        case .notLoaded:
            throw APIError(.serviceUnavailable, "the fleet's registrations have not been read from etcd yet")
        case .targets(let groups):
            return JSONResponse.make(groups)
        }
    }

    private func readiness() -> Response {
        guard let problem = backend.readinessProblem else {
            return JSONResponse.make(["status": "ready"])
        }
        return JSONResponse.make(["status": "not ready", "reason": problem], status: .serviceUnavailable)
    }

    private func process(_ context: Context) async throws(APIError) -> Response {
        let id = id(context)
        guard let view = await backend.process(id: id) else { throw APIError(AgentActionError.notFound(id: id)) }
        return JSONResponse.make(view)
    }

    /// Child output can carry secrets: on a non-loopback listener with a token, the token is
    /// required (``MutationPolicy/decideRead(authorization:)``), checked before the id is looked up.
    /// `follow=true` turns the answer into an SSE stream of the tail (or what follows
    /// `Last-Event-ID`) and every new line.
    private func logs(_ request: Request, _ context: Context) async throws(APIError) -> Response {
        try refuseCrossSite(request)
        switch policy.decideRead(authorization: request.headers[.authorization]) {
        case .allow: break
        case .unauthorized: throw .unauthorized
        case .forbidden: throw .forbidden
        }
        let id = id(context)
        var tail = Self.defaultTail
        if let text = request.uri.queryParameters.get("tail") {
            guard let value = Int(text), Self.tailRange.contains(value) else {
                throw APIError(.badRequest, "tail must be an integer from \(Self.tailRange.lowerBound) to \(Self.tailRange.upperBound)")
            }
            tail = value
        }
        if try Self.follow(request) {
            let after = try LastEventID.parse(request)
            guard let ring = await backend.logStream(id: id) else { throw APIError(AgentActionError.notFound(id: id)) }
            let slot = try reserveStream(.logs)
            return ServerSentEventStream.response(
                ring: ring, after: after, tail: tail, encoding: OutputLineEncoding(), slot: slot, streams: streams)
        }
        guard let lines = await backend.logs(id: id, tail: tail) else {
            throw APIError(AgentActionError.notFound(id: id))
        }
        return JSONResponse.make(LogsBody(id: id, lines: lines))
    }

    /// `GET /api/v1/events`: new events only, or those after `Last-Event-ID`; `?process=` keeps
    /// one process's (an id the agent does not know is a 404, not an empty stream forever).
    private func events(_ request: Request) async throws(APIError) -> Response {
        let process = request.uri.queryParameters.get("process")
        if let process, !(await backend.knowsProcess(id: process)) {
            throw APIError(AgentActionError.notFound(id: process))
        }
        let after = try LastEventID.parse(request)
        let slot = try reserveStream(.events)
        return ServerSentEventStream.response(
            ring: backend.events.ring, after: after, tail: 0, encoding: AgentEventEncoding(process: process),
            slot: slot, streams: streams)
    }

    /// A place for one more SSE stream, or 503 at the cap (room is kept for scrapes and the JSON API).
    private func reserveStream(_ kind: StreamKind) throws(APIError) -> StreamSlot {
        guard let slot = streams.reserve(kind) else {
            throw APIError(.serviceUnavailable, "too many open event streams (at most \(streams.maxStreams)); try again later")
        }
        return slot
    }

    /// `?follow=`: absent or `false` is the JSON answer, `true` the stream, anything else a 400.
    private static func follow(_ request: Request) throws(APIError) -> Bool {
        switch request.uri.queryParameters.get("follow") {
        case nil, "false": return false
        case "true": return true
        default: throw APIError(.badRequest, "follow must be true or false")
        }
    }

    private func routes(_ request: Request) async throws(APIError) -> Response {
        guard let host = request.uri.queryParameters.get("host"), !host.isEmpty else {
            throw APIError(.badRequest, "query parameter host is required")
        }
        return JSONResponse.make(RoutesBody(host: host, endpoints: await backend.routes(host: host)))
    }

    /// `?replicas=N` of a scale request; parsed after authorization, so an unauthenticated
    /// caller learns nothing about it.
    private static func replicas(_ request: Request) throws(AgentActionError) -> Int {
        guard let text = request.uri.queryParameters.get("replicas"), let value = Int(text), replicasRange.contains(value) else {
            throw .badRequest("query parameter replicas must be an integer from \(replicasRange.lowerBound) to \(replicasRange.upperBound)")
        }
        return value
    }

    /// `?name=` of a signal request (`HUP`, `SIGHUP`, `hup`); parsed after authorization.
    private static func signalName(_ request: Request) throws(AgentActionError) -> ProcessSignalName {
        guard let text = request.uri.queryParameters.get("name"), let name = ProcessSignalName(parsing: String(text)) else {
            let names = ProcessSignalName.allCases.map(\.rawValue).joined(separator: ", ")
            throw .badRequest("query parameter name must be one of \(names) (with or without SIG, any case)")
        }
        return name
    }

    /// Authorization, then the body, then the action: an unauthenticated
    /// caller learns nothing, not even whether its body would have been accepted.
    private func mutate(
        _ request: Request, action: () async throws(AgentActionError) -> Void
    ) async throws(APIError) -> Response {
        try refuseCrossSite(request)
        switch policy.decide(authorization: request.headers[.authorization]) {
        case .allow: break
        case .unauthorized: throw .unauthorized
        case .forbidden: throw .forbidden
        }
        var request = request
        try await RequestBody.validateOptionalJSONObject(&request, limit: maxBodyBytes)
        do {
            try await action()
        } catch {
            throw APIError(error)
        }
        return JSONResponse.make(["result": "success"])
    }

    /// ``OriginCheck`` for a request that acts or reads process output: called first, wherever
    /// ``MutationPolicy`` is consulted, so a cross-site request learns nothing else.
    private func refuseCrossSite(_ request: Request) throws(APIError) {
        let fetchSite = request.headers.first { $0.name.canonicalName == "sec-fetch-site" }?.value
        let verdict = OriginCheck(policy: policy).check(
            origins: request.headers[values: .origin], fetchSite: fetchSite, host: request.head.authority)
        if case .refuse(let message) = verdict { throw APIError(.forbidden, message) }
    }

    /// The `{id}` capture. The router calls these handlers only when their
    /// template matched, so it is always there; `""` would just be an unknown id.
    private func id(_ context: Context) -> String {
        context.parameters.get("id") ?? ""
    }
}

/// `GET /api/v1/processes/{id}/logs` body.
struct LogsBody: Encodable, Sendable {
    let id: String
    let lines: [LogLineView]
}

/// `GET /api/v1/routes` body.
struct RoutesBody: Encodable, Sendable {
    let host: String
    let endpoints: [String]
}
