import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 child channel with the agent's guards around it: the connection cap
/// (``ConnectionGate``: at the cap the longest-idle connection is closed to make room; if every
/// slot is busy the new one gets ``ConnectionRefusal`` and nothing else), the
/// request-line limit (``RequestLineGuard``, before the decoder) and JSON answers to what the
/// decoder rejects (``ProtocolErrorResponder``, right after it). The idle timeout is
/// `HTTP1Channel`'s own.
struct GuardedHTTP1Channel: ServerChildChannel {
    enum Value: ServerChildChannelValue {
        case served(HTTP1Channel.Value)
        case refused(any Channel)

        var channel: any Channel {
            switch self {
            case .served(let value): value.channel
            case .refused(let channel): channel
            }
        }
    }

    let http1: HTTP1Channel
    let gate: ConnectionGate
    let metrics: HTTPMetrics?

    init(responder: @escaping HTTPChannelHandler.Responder, idleTimeout: Duration, gate: ConnectionGate, metrics: HTTPMetrics?) {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: HTTPWireLimits.maxHeaderFieldBytes,
            maxHeaderListSize: HTTPWireLimits.maxHeaderListBytes,
            maxHeaderFieldCount: HTTPWireLimits.maxHeaderFieldCount)
        http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(idleTimeout: TimeAmount(idleTimeout), httpDecoderConfiguration: decoder))
        self.gate = gate
        self.metrics = metrics
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let gate = self.gate
        let metrics = self.metrics
        switch gate.admit(channel) {
        case .refused:
            metrics?.recordRefusedConnection()
            let maxConnections = gate.maxConnections
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ConnectionRefusal(maxConnections: maxConnections))
                return .refused(channel)
            }
        case .admittedEvicting(let idle):
            metrics?.recordEvictedConnection()
            idle.close(promise: nil)
        case .admitted:
            break
        }
        metrics?.connectionOpened()
        channel.closeFuture.whenComplete { _ in
            gate.release(channel)
            metrics?.connectionClosed()
        }
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let tracker = RequestLineTracker()
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let responder = ProtocolErrorResponder(tracker: tracker, metrics: metrics, gate: gate)
            try pipeline.addHandler(responder, position: .after(decoder))
            try pipeline.addHandler(RequestLineGuard(tracker: tracker), position: .first)
            return .served(value)
        }
    }

    func handle(value: Value, logger: Logger) async {
        switch value {
        case .served(let served):
            await ConnectionChannel.$current.withValue(served.channel) {
                await http1.handle(value: served, logger: logger)
            }
        case .refused(let channel):
            try? await channel.closeFuture.get()
        }
    }
}
