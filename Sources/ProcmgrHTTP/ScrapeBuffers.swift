import CompressNIO
import NIOCore

/// The working memory of one scrape: the exposition text, its copy as zlib's
/// input, the response body, and a gzip deflate stream.
///
/// All of it is kept between scrapes (cleared, not freed) so a warmed-up
/// scrape allocates nothing: the arrays and buffers keep their capacity and
/// the deflate stream keeps its ~256 KiB of state, reset instead of rebuilt.
/// Not thread-safe; ``ScrapeBufferPool`` hands each one to a single scrape.
final class ScrapeBuffers {
    var text: [UInt8] = []
    private var input: ByteBuffer
    private var output: ByteBuffer
    private let compressor: ZlibCompressor

    init(gzipLevel: ZlibConfiguration.CompressionLevel) throws {
        let allocator = ByteBufferAllocator()
        input = allocator.buffer(capacity: 0)
        output = allocator.buffer(capacity: 0)
        compressor = try ZlibCompressor(algorithm: .gzip, configuration: .init(compressionLevel: gzipLevel))
    }

    /// Starts a scrape: empties the text, keeping its capacity.
    func reset() {
        text.removeAll(keepingCapacity: true)
    }

    /// The text as a response body.
    ///
    /// The returned buffer shares storage with the one kept here; ByteBuffer's
    /// copy-on-write means the next scrape writes in place once the response
    /// has been sent and released, or into fresh storage if it is still in flight.
    func identityBody() -> ByteBuffer {
        output.clear(minimumCapacity: text.count)
        output.writeBytes(text)
        return output
    }

    /// The text gzip-compressed (one complete gzip member) as a response body.
    func gzipBody() throws -> ByteBuffer {
        input.clear(minimumCapacity: text.count)
        input.writeBytes(text)
        try compressor.reset()
        output.clear(minimumCapacity: compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .finish)
        return output
    }
}
