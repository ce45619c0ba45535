import Hummingbird
import NIOCore
import NIOHTTP1

/// Answers requests the HTTP decoder rejects with the API's JSON error body, then closes the
/// connection: 414 for a request line over the limit, 431 for headers over theirs, 400 for
/// anything else that is not HTTP.
///
/// Hummingbird answers a parser error itself with an empty-bodied 400; the contract wants every
/// error in the same JSON shape. This handler sits right after the decoder (on NIOHTTP1's parts)
/// and consumes the error, so Hummingbird's request loop never sees it and simply ends when the
/// connection closes. It also tells the ``ConnectionGate`` when the connection is busy (request
/// head in, response not yet out) and idle again. If a response is still owed for an earlier request on the connection, a
/// second response cannot be interleaved: the connection is closed without one (as NIO's own
/// error handler does).
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let tracker: RequestLineTracker
    private let metrics: HTTPMetrics?
    private let gate: ConnectionGate?
    /// Request heads received whose response has not ended yet.
    private var responsesOwed = 0
    private var answered = false

    init(tracker: RequestLineTracker, metrics: HTTPMetrics?, gate: ConnectionGate?) {
        self.tracker = tracker
        self.metrics = metrics
        self.gate = gate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            responsesOwed += 1
            gate?.markBusy(context.channel)
        case .body: break
        case .end: tracker.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if case .end = unwrapOutboundIn(data) {
            responsesOwed -= 1
            if responsesOwed == 0 { gate?.markIdle(context.channel) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let problem: APIError
        switch error {
        case is RequestLineTooLong:
            problem = .requestLineTooLong
        case HTTPParserError.headerOverflow:
            problem = .requestHeadersTooLarge
        case let parse as HTTPParserError:
            problem = APIError(.badRequest, "malformed HTTP request: \(parse.debugDescription)")
        case is ByteToMessageDecoderError:
            // More bytes after the decoder failed: the answer to the first error is on its way.
            return
        default:
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        let channel = context.channel
        guard responsesOwed == 0 else {
            channel.close(promise: nil)
            return
        }
        metrics?.record(handler: HTTPMetrics.otherHandler, code: problem.status.code, duration: .zero)
        let body = JSONResponse.encode(problem.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: JSONResponse.contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        let status = HTTPResponseStatus(statusCode: problem.status.code, reasonPhrase: problem.status.reasonPhrase)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
}
