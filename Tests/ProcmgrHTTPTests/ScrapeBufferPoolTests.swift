@testable import ProcmgrHTTP
import NIOCore
import Testing

@Suite("Scrape buffer reuse")
struct ScrapeBufferPoolTests {
    static func pool(maxIdle: Int = 2) -> ScrapeBufferPool {
        ScrapeBufferPool(maxIdle: maxIdle) { try ScrapeBuffers(gzipLevel: .fastestCompression) }
    }

    @Test("sequential scrapes reuse one set, capacity kept")
    func reuse() throws {
        let pool = Self.pool()
        let first = try pool.withBuffers { buffers in
            buffers.text.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: 1 << 20))
            _ = try buffers.gzipBody()
            return ObjectIdentifier(buffers)
        }
        let (second, emptied, capacity) = try pool.withBuffers { buffers in
            (ObjectIdentifier(buffers), buffers.text.isEmpty, buffers.text.capacity)
        }
        #expect(first == second)
        #expect(emptied)
        #expect(capacity >= 1 << 20)
        #expect(pool.idleCount == 1)
    }

    @Test("overlapping scrapes never share a set; at most maxIdle are kept")
    func overlapping() throws {
        let pool = Self.pool(maxIdle: 2)
        let ids = try pool.withBuffers { outer in
            try pool.withBuffers { middle in
                try pool.withBuffers { inner in
                    [ObjectIdentifier(outer), ObjectIdentifier(middle), ObjectIdentifier(inner)]
                }
            }
        }
        #expect(Set(ids).count == 3)
        #expect(pool.idleCount == 2)
    }

    static func address(of buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withVeryUnsafeBytes { UnsafeRawPointer($0.baseAddress) }
    }

    @Test("a body that was sent and released is overwritten in place next scrape")
    func releasedBodyStorageIsReused() throws {
        let buffers = try ScrapeBuffers(gzipLevel: .fastestCompression)
        buffers.text = Array("first scrape\n".utf8)
        let first = Self.address(of: buffers.identityBody())  // the body is dropped right away, as after sending
        buffers.reset()
        buffers.text = Array("second\n".utf8)
        let second = buffers.identityBody()
        #expect(Self.address(of: second) == first)
        #expect(String(buffer: second) == "second\n")
    }

    @Test("a body still in flight is never overwritten by the next scrape")
    func heldBodyIsNotOverwritten() throws {
        let buffers = try ScrapeBuffers(gzipLevel: .fastestCompression)
        buffers.text = Array("first scrape\n".utf8)
        let inFlight = buffers.identityBody()
        buffers.reset()
        buffers.text = Array("second\n".utf8)
        let next = try buffers.gzipBody()
        #expect(String(buffer: inFlight) == "first scrape\n")
        #expect(Self.address(of: next) != Self.address(of: inFlight))
        #expect(try gunzip(next) == "second\n")
    }
}
