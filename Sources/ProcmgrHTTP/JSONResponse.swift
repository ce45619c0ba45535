#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import NIOCore

/// Builds the API's JSON responses.
///
/// One encoder configuration for every endpoint, so all bodies look alike:
/// compact, keys sorted (the encoder's own order varies from run to run, and
/// stable output diffs well), `/` not escaped (paths stay readable in a terminal).
enum JSONResponse {
    static let contentType = "application/json; charset=utf-8"

    static func make(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        do {
            let data = try encoder().encode(value)
            return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        } catch {
            // Only a non-finite Double can fail to encode; answer in the same shape rather than crash.
            let fallback = #"{"error":"response could not be encoded as JSON"}"#
            return Response(
                status: .internalServerError, headers: [.contentType: contentType],
                body: .init(byteBuffer: ByteBuffer(string: fallback)))
        }
    }

    /// The bytes of a JSON body, for answers written below Hummingbird's responder (a parser
    /// error, a refused connection).
    static func encode(_ value: some Encodable) -> [UInt8] {
        guard let data = try? encoder().encode(value) else {
            return Array(#"{"error":"response could not be encoded as JSON"}"#.utf8)
        }
        return Array(data)
    }

    static func make(_ error: APIError) -> Response {
        make(error.body, status: error.status, headers: error.headers)
    }

    /// A fresh encoder per response: `JSONEncoder` is not documented as safe to share across threads.
    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
