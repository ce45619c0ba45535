import FuzzSupport
import ProcmgrHTTP

/// `Authorization: Bearer <token>` parsing and the constant-time comparison. Beyond "no
/// crash": credentials that come out are non-empty and carry no surrounding spaces; a token
/// made from them matches them and re-wrapping them in `Bearer ` gives them back; a
/// different (one byte longer) presentation never matches; an empty configured token never
/// matches anything.
func fuzzBearerToken(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzBytes(data, count)
    let header = fuzzText(input)
    guard let credentials = BearerToken.credentials(fromAuthorization: header) else { return 0 }
    let bytes = Array(credentials)
    fuzzCheck(!bytes.isEmpty, "empty credentials from \(header.debugDescription)")
    fuzzCheck(bytes.first != UInt8(ascii: " ") && bytes.last != UInt8(ascii: " "),
              "credentials keep spaces: \(header.debugDescription)")
    let text = String(decoding: bytes, as: UTF8.self)
    let token = BearerToken(text)
    fuzzCheck(token.matches(bytes), "a token does not match itself: \(text.debugDescription)")
    fuzzCheck(!token.matches(bytes + [UInt8(ascii: "x")]), "a longer presentation matched: \(text.debugDescription)")
    fuzzCheck(!BearerToken("").matches(bytes), "the empty token matched \(text.debugDescription)")
    let again = BearerToken.credentials(fromAuthorization: "Bearer " + text).map { Array($0) }
    fuzzCheck(again == bytes, "Bearer + credentials did not round-trip: \(text.debugDescription)")
    return 0
}
