import HTTPTypes
import Hummingbird
import NIOCore
import ProcmgrSupport
import ServiceLifecycle

/// The response of an SSE route: `retry: 1000`, the replay, then every new entry of a
/// ``StreamRing`` as it is published, until the client leaves, falls too far behind, or the agent
/// shuts down.
///
/// One task per stream (the connection's own), waiting in ``StreamRing/Subscription/next()``:
/// no timer of its own (the shared ``KeepAliveTicker`` wakes it for `: keep-alive`), one socket
/// write per delivery however many entries it carries. A client that stops reading is dropped by
/// the ring (its buffer is bounded); if the stream is blocked writing to it at that moment, its
/// connection is closed (``WriteGuard``), since nothing else ends a write to a full socket.
enum ServerSentEventStream {
    static let headers: HTTPFields = {
        var headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"]
        // nginx buffers proxied responses unless told not to; a buffered stream is no stream.
        if let accelBuffering = HTTPField.Name("X-Accel-Buffering") { headers[accelBuffering] = "no" }
        return headers
    }()

    /// A replay is written in pieces of about this size rather than one buffer of all of it.
    static let replayChunkBytes = 64 * 1024

    /// - Parameters:
    ///   - after: `Last-Event-ID` (resume after it), or nil for `tail`.
    ///   - slot: the stream's place under the cap, released when the stream ends (or never starts).
    static func response<Encoding: ServerSentEventEncoding>(
        ring: StreamRing<Encoding.Element>, after: UInt64?, tail: Int, encoding: Encoding,
        slot: StreamSlot, streams: ServerSentEventStreams
    ) -> Response {
        Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { slot.release() }
            try await run(ring: ring, after: after, tail: tail, encoding: encoding, streams: streams, writer: &writer)
        })
    }

    private static func run<Encoding: ServerSentEventEncoding>(
        ring: StreamRing<Encoding.Element>, after: UInt64?, tail: Int, encoding: Encoding,
        streams: ServerSentEventStreams, writer: inout any ResponseBodyWriter
    ) async throws {
        let guarding = WriteGuard(channel: ConnectionChannel.current)
        let (replay, subscription) = ring.subscribe(after: after, tail: tail) {
            streams.countDrop(Encoding.kind)
            guarding.overflowed()
        }
        let ticket = streams.keepAlive.register { subscription.poke() }
        defer {
            streams.keepAlive.unregister(ticket)
            subscription.cancel()
        }
        var buffer = ByteBuffer()
        buffer.writeStaticString("retry: 1000\n\n")
        if let missed = replay.missed {
            Encoding.appendMissed(requested: missed.requested, oldest: missed.oldest, to: &buffer)
        }
        for entry in replay.entries {
            encoding.append(entry, to: &buffer)
            if buffer.readableBytes >= replayChunkBytes {
                try await guarding.write(buffer, to: &writer)
                buffer = ByteBuffer()
            }
        }
        try await guarding.write(buffer, to: &writer)
        try await withGracefulShutdownHandler {
            deliveries: while let delivery = await subscription.next() {
                switch delivery {
                case .entries(let entries):
                    var buffer = ByteBuffer()
                    for entry in entries { encoding.append(entry, to: &buffer) }
                    if buffer.readableBytes > 0 { try await guarding.write(buffer, to: &writer) }
                case .keepAlive:
                    try await guarding.write(keepAlive, to: &writer)
                case .overflowed:
                    // Said only if the socket takes it now: waiting on a client that does not
                    // read is what the drop is for.
                    if guarding.channel?.isWritable ?? true {
                        var buffer = ByteBuffer()
                        Encoding.appendDropped(limit: ring.subscriberBuffer, to: &buffer)
                        try await writer.write(buffer)
                    }
                    break deliveries
                }
            }
        } onGracefulShutdown: {
            subscription.cancel()
        }
        try await writer.finish(nil)
    }

    private static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
}

/// Closes the connection of a stream that the ring drops while the stream is blocked writing to
/// it; a stream that is not writing hears ``StreamRing/Delivery/overflowed`` from the ring itself.
final class WriteGuard: Sendable {
    let channel: (any Channel)?
    private let state = LockedState((writing: false, overflowed: false))

    init(channel: (any Channel)?) {
        self.channel = channel
    }

    /// Writes `buffer` unless the stream was dropped already (then its next delivery is
    /// ``StreamRing/Delivery/overflowed``).
    func write(_ buffer: ByteBuffer, to writer: inout any ResponseBodyWriter) async throws {
        let proceed = state.withLock { state -> Bool in
            guard !state.overflowed else { return false }
            state.writing = true
            return true
        }
        guard proceed else { return }
        defer { state.withLock { $0.writing = false } }
        try await writer.write(buffer)
    }

    /// The ring dropped the stream.
    func overflowed() {
        let blocked = state.withLock { state -> Bool in
            state.overflowed = true
            return state.writing
        }
        if blocked { channel?.close(promise: nil) }
    }
}
