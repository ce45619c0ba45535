import HTTPTypes
import Hummingbird

/// The `Last-Event-ID` request header a resuming SSE client sends (browsers' `EventSource` do
/// it on their own after a reconnect): the decimal id of the last entry it received.
///
/// Only plain decimal digits that fit a `UInt64` are accepted — no sign, no spaces, no hex — so a
/// garbage id is a 400 the client can see instead of a silent replay from somewhere else. Not also
/// taken from a query parameter: `EventSource` always sends the header, and one way to say it
/// keeps the OpenAPI document and the fuzzing smaller.
enum LastEventID {
    static let header = HTTPField.Name("Last-Event-ID")

    /// nil when the header is absent; throws 400 when it is not a decimal `UInt64`.
    static func parse(_ request: Request) throws(APIError) -> UInt64? {
        guard let header, let text = request.headers[header] else { return nil }
        guard let value = parse(text) else {
            throw APIError(.badRequest, "Last-Event-ID must be a decimal event id from 0 to \(UInt64.max)")
        }
        return value
    }

    static func parse(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt64(text)
    }
}
