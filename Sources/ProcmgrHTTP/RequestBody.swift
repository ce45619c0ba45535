#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import NIOCore

/// Reads the optional body of a mutating request.
///
/// Restart, stop and reload take no parameters today, but a body, if sent,
/// must already be a JSON object: rejecting garbage now means fields can be
/// added later without silently changing what old clients' requests mean.
enum RequestBody {
    /// Checks the size (413 beyond `limit`, without reading more than `limit`
    /// bytes) and the shape (400 unless empty or a JSON object).
    static func validateOptionalJSONObject(_ request: inout Request, limit: Int) async throws(APIError) {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw .bodyTooLarge(limit: limit)
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .bodyTooLarge(limit: limit)
        } catch {
            throw APIError(.badRequest, "could not read request body")
        }
        guard body.readableBytes > 0 else { return }
        guard isJSONObject(body) else {
            throw APIError(.badRequest, "request body must be empty or a JSON object")
        }
    }

    /// Well-formed JSON whose top level is an object. The `{` check is
    /// explicit because decoding into a field-less type does not look at the
    /// top-level type at all (`[]` and `42` would pass).
    private static func isJSONObject(_ body: ByteBuffer) -> Bool {
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        guard body.readableBytesView.first(where: { !whitespace.contains($0) }) == UInt8(ascii: "{") else {
            return false
        }
        return (try? JSONDecoder().decode([String: IgnoredValue].self, from: Data(body.readableBytesView))) != nil
    }

    /// Any JSON value, parsed for well-formedness and thrown away.
    private struct IgnoredValue: Decodable {
        init(from decoder: any Decoder) throws {}
    }
}
