import NIOCore

/// Where the connection is in the request it reads: shared by the two handlers that tell a
/// too-long request line (414) from too-large headers (431), both of which the HTTP decoder
/// reports as one and the same `headerOverflow`.
///
/// Confined to the connection's event loop (both handlers run there), so a plain class.
final class RequestLineTracker {
    /// True from the start of the connection and after each complete request until the next
    /// request line's end is seen.
    var readingRequestLine = true
    /// Bytes of the request line seen so far.
    var requestLineBytes = 0

    /// The next bytes begin a new request.
    func requestEnded() {
        readingRequestLine = true
        requestLineBytes = 0
    }
}

/// The request line was longer than ``HTTPWireLimits/maxRequestLineBytes``; answered 414.
struct RequestLineTooLong: Error {}

/// Sits before the HTTP decoder and measures each request line in the raw bytes; one longer than
/// the limit is reported as ``RequestLineTooLong`` (and nothing more is passed on) instead of
/// waiting for the decoder's own, larger, header limit. A request that follows a body in the
/// same read is not measured here (the boundary is only known after the decoder saw the body
/// end): ``APIResponder`` answers it 414 once decoded, within the decoder's own header limit.
final class RequestLineGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let tracker: RequestLineTracker
    private let limit: Int
    private var tripped = false

    init(tracker: RequestLineTracker, limit: Int = HTTPWireLimits.maxRequestLineBytes) {
        self.tracker = tracker
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !tripped else { return }
        if tracker.readingRequestLine {
            let bytes = unwrapInboundIn(data).readableBytesView
            if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                tracker.requestLineBytes += newline - bytes.startIndex
                tracker.readingRequestLine = false
            } else {
                tracker.requestLineBytes += bytes.count
            }
            if tracker.requestLineBytes > limit {
                tripped = true
                context.fireErrorCaught(RequestLineTooLong())
                return
            }
        }
        context.fireChannelRead(data)
    }
}
