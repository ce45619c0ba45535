/// Size limits on what a client may send before its request reaches a handler.
///
/// Small on purpose: the API's requests are a request line, a few headers and (for actions) a
/// small JSON body. Every connection's decoder buffers up to these sizes, so they bound what a
/// slow or hostile client makes the agent hold per connection.
enum HTTPWireLimits {
    /// The request line (method, target, version): longer is 414.
    static let maxRequestLineBytes = 8 * 1024
    /// One header field (name and value): longer is 431.
    static let maxHeaderFieldBytes = 16 * 1024
    /// All header fields together: more is 431.
    static let maxHeaderListBytes = 32 * 1024
    /// Header fields in one request: more is 431.
    static let maxHeaderFieldCount = 100
}
