import Foundation
import Hummingbird
import HummingbirdTesting
@testable import ProcmgrHTTP
import ProcmgrMetrics
import Testing

/// The OpenAPI document (`Resources/openapi.json`) is the single source of truth of the API only
/// while it and the server cannot drift apart: these tests hold it to the route table in both
/// directions and check its own consistency; `scripts/openapi-check.sh` holds the server's
/// answers to it with schemathesis.
@Suite("The OpenAPI document and the routes it describes", .timeLimit(.minutes(1)))
struct OpenAPIDocumentTests {
    /// The HTTP methods an OpenAPI path item can hold operations under.
    static let operationMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// Error statuses the HTTP layer can answer on any operation, before or beside its handler:
    /// a malformed request, a request line or headers over the limits, the connection cap.
    static let transportErrors = ["400", "414", "431", "503"]

    let document: [String: Any]

    init() throws {
        let bytes = EmbeddedResources.openAPIDocument
        document = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], "the document is not a JSON object")
    }

    /// `(method, template)` of every operation in the document, `GET` and `/api/v1/processes/{id}`
    /// spelt as the route table spells them.
    func documentedOperations() throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: Set<String> = []
        for (template, item) in paths {
            for method in Self.operationMethods where item[method] != nil {
                operations.insert("\(method.uppercased()) \(template)")
            }
        }
        return operations
    }

    /// Every operation object with its `METHOD template` name.
    func operations() throws -> [(name: String, operation: [String: Any])] {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        return try paths.flatMap { template, item in
            try Self.operationMethods.compactMap { method in
                guard let operation = item[method] else { return nil }
                return ("\(method.uppercased()) \(template)", try #require(operation as? [String: Any]))
            }
        }
    }

    static func routeTable() throws -> Set<String> {
        let backend = FakeBackend()
        let registry = MetricsRegistry()
        let metrics = try HTTPMetrics(registry: registry)
        let pool = ScrapeBufferPool(maxIdle: 1) { try ScrapeBuffers(gzipLevel: .fastestCompression) }
        let routes = AgentRoutes(
            backend: backend, policy: MutationPolicy(host: "127.0.0.1", token: APIToken(nil)), maxBodyBytes: 1024,
            metricsEndpoint: MetricsEndpoint(backend: backend, pool: pool, metrics: metrics),
            streams: try ServerSentEventStreams(maxConnections: 16, keepAliveInterval: .seconds(15), registry: registry))
        return Set(routes.all.map { "\($0.0.method.rawValue) \($0.0.template)" })
    }

    @Test("valid JSON declaring OpenAPI 3.1")
    func declaresOpenAPI31() throws {
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.1."), "openapi is \(version)")
        let info = try #require(document["info"] as? [String: Any])
        #expect(info["title"] is String)
        #expect(info["version"] is String)
    }

    @Test("every route is a documented operation, and every documented operation is a route")
    func routesEqualOperations() throws {
        let routes = try Self.routeTable()
        let documented = try documentedOperations()
        #expect(routes.subtracting(documented).sorted() == [], "routes the document does not describe")
        #expect(documented.subtracting(routes).sorted() == [], "documented operations no route serves")
    }

    @Test("every operation has an id, a success and the error responses it can answer")
    func errorResponsesDocumented() throws {
        var operationIds: [String] = []
        for (name, operation) in try operations() {
            operationIds.append(try #require(operation["operationId"] as? String, "\(name) has no operationId"))
            let responses = try #require(operation["responses"] as? [String: Any], "\(name) has no responses")
            #expect(responses["default"] == nil, "\(name): a default response would make every status conform")
            #expect(responses["200"] != nil, "\(name) documents no 200")
            for status in Self.transportErrors {
                #expect(responses[status] != nil, "\(name) does not document \(status)")
            }
            let parameters = try resolvedParameters(of: operation)
            if parameters.contains(where: { $0["in"] as? String == "path" }) {
                #expect(responses["404"] != nil, "\(name) takes an id but does not document 404")
            }
            if operation["security"] != nil {
                #expect(responses["401"] != nil && responses["403"] != nil, "\(name) is behind the token but lacks 401 or 403")
            }
            if name.hasPrefix("POST ") {
                #expect(operation["security"] != nil, "\(name) is a mutation without the bearer scheme")
                #expect(responses["413"] != nil, "\(name) takes a body but does not document 413")
            }
            for (status, response) in responses {
                let resolved = try resolve(response)
                #expect(resolved["description"] is String, "\(name) \(status) has no description")
                if status.hasPrefix("4") || status.hasPrefix("5") {
                    let content = try #require(resolved["content"] as? [String: Any], "\(name) \(status) has no body")
                    #expect(Array(content.keys) == ["application/json"], "\(name) \(status): errors are JSON")
                }
            }
        }
        #expect(Set(operationIds).count == operationIds.count, "operationIds repeat: \(operationIds.sorted())")
    }

    @Test("every $ref points at something the document has")
    func referencesResolve() throws {
        var references: [String] = []
        collectReferences(in: document, into: &references)
        #expect(references.count > 20)
        for reference in references {
            _ = try resolve(["$ref": reference])
        }
    }

    @Test("documented bounds are the handlers' bounds")
    func boundsMatchHandlers() throws {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        func parameter(_ name: String, of path: String, _ method: String) throws -> [String: Any] {
            let operation = try #require(paths[path]?[method] as? [String: Any])
            let found = try resolvedParameters(of: operation).first { $0["name"] as? String == name }
            return try #require(found?["schema"] as? [String: Any], "\(method) \(path) has no parameter \(name)")
        }
        let tail = try parameter("tail", of: "/api/v1/processes/{id}/logs", "get")
        #expect(tail["minimum"] as? Int == AgentRoutes<FakeBackend>.tailRange.lowerBound)
        #expect(tail["maximum"] as? Int == AgentRoutes<FakeBackend>.tailRange.upperBound)
        #expect(tail["default"] as? Int == AgentRoutes<FakeBackend>.defaultTail)
        let replicas = try parameter("replicas", of: "/api/v1/processes/{id}/scale", "post")
        #expect(replicas["minimum"] as? Int == AgentRoutes<FakeBackend>.replicasRange.lowerBound)
        #expect(replicas["maximum"] as? Int == AgentRoutes<FakeBackend>.replicasRange.upperBound)
    }

    @Test("documented enums are the code's closed sets: signal names, event types")
    func enumsMatchCode() throws {
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        #expect(schemas["SignalName"]?["enum"] as? [String] == ProcessSignalName.allCases.map(\.rawValue))
        #expect(schemas["AgentEventType"]?["enum"] as? [String] == AgentEventType.allCases.map(\.rawValue))
    }

    @Test("GET /api/v1/openapi.json serves the embedded bytes as JSON; HEAD its length")
    func servedVerbatim() async throws {
        try await withLiveServer { client in
            let response = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(Array(response.body.readableBytesView) == EmbeddedResources.openAPIDocument)

            let head = try await client.execute(uri: "/api/v1/openapi.json", method: .head)
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == String(EmbeddedResources.openAPIDocument.count))
            #expect(head.body.readableBytes == 0)

            let post = try await client.execute(uri: "/api/v1/openapi.json", method: .post)
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "GET, HEAD")
        }
    }

    // MARK: Reading the document

    private func resolvedParameters(of operation: [String: Any]) throws -> [[String: Any]] {
        try (operation["parameters"] as? [Any] ?? []).map(resolve)
    }

    /// The object itself, or what its `$ref` (a local JSON pointer) points at.
    private func resolve(_ value: Any) throws -> [String: Any] {
        let object = try #require(value as? [String: Any])
        guard let reference = object["$ref"] as? String else { return object }
        #expect(reference.hasPrefix("#/"), "\(reference) is not a local reference")
        var node: Any = document
        for token in reference.dropFirst(2).split(separator: "/") {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            let container = try #require(node as? [String: Any], "\(reference): \(key) is not inside an object")
            node = try #require(container[key], "\(reference): nothing at \(key)")
        }
        return try resolve(node)
    }

    private func collectReferences(in value: Any, into references: inout [String]) {
        if let object = value as? [String: Any] {
            for (key, member) in object {
                if key == "$ref", let reference = member as? String {
                    references.append(reference)
                } else {
                    collectReferences(in: member, into: &references)
                }
            }
        } else if let array = value as? [Any] {
            for member in array { collectReferences(in: member, into: &references) }
        }
    }
}
