import NIOCore

/// The whole answer to a connection past the cap when no idle connection can make room: `503`
/// with the JSON error body, then close.
///
/// Written on the raw socket the moment the connection is active, before (and whatever) the
/// client sends: no HTTP pipeline is built for a connection that will not be served, so a flood
/// costs one short write per connection and each descriptor is freed at once.
final class ConnectionRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let response: [UInt8]
    private var sent = false

    init(maxConnections: Int) {
        let body = JSONResponse.encode(ErrorBody(
            error: "all \(maxConnections) connections the API serves at once have a request in progress; try again later",
            problems: nil))
        let head = "HTTP/1.1 503 Service Unavailable\r\n"
            + "Content-Type: \(JSONResponse.contentType)\r\n"
            + "Content-Length: \(body.count)\r\n"
            + "Retry-After: 1\r\n"
            + "Connection: close\r\n\r\n"
        response = Array(head.utf8) + body
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
    }

    /// Whatever the client sent is dropped.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: response)), promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
}
