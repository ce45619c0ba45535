import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document built into the binary, byte for byte.
///
/// Served verbatim rather than re-encoded, so what a client downloads is exactly the file in the
/// repository that `OpenAPIDocumentTests` compare with the route table and schemathesis tests
/// the server against (`scripts/openapi-check.sh`).
enum OpenAPIDocumentEndpoint {
    /// Made once: every response shares the same read-only storage.
    private static let document = ByteBuffer(bytes: EmbeddedResources.openAPIDocument)

    static func response() -> Response {
        Response(
            status: .ok, headers: [.contentType: JSONResponse.contentType],
            body: .init(byteBuffer: document))
    }
}
