import Glibc
import ProcmgrRuntime
import Synchronization
import Testing

@Suite("PortAllocator")
struct PortAllocatorTests {
    @Test("100 concurrent allocations never collide, and all ports come back", arguments: 0..<20)
    func concurrentAllocations(round: Int) async throws {
        let allocator = PortAllocator(range: 30000...31000)
        let ports = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<100 {
                group.addTask { try allocator.allocate() }
            }
            var ports: [Int] = []
            for try await port in group { ports.append(port) }
            return ports
        }
        #expect(ports.count == 100)
        #expect(Set(ports).count == 100, "a port was handed out twice")
        #expect(ports.allSatisfy { (30000...31000).contains($0) })
        #expect(allocator.inUse == 100)
        await withTaskGroup(of: Void.self) { group in
            for port in ports { group.addTask { #expect(allocator.release(port)) } }
        }
        #expect(allocator.inUse == 0)
        #expect(!allocator.release(ports[0]), "double release must be a no-op")
    }

    @Test("round-robin: a released port is not handed out again at once")
    func roundRobin() throws {
        let allocator = PortAllocator(range: 40000...40009, isBindable: { _ in true })
        let first = try allocator.allocate()
        allocator.release(first)
        let second = try allocator.allocate()
        #expect(second != first)
        #expect(second == first + 1)
        // Wraps around the range.
        for _ in 0..<8 { _ = try allocator.allocate() }
        allocator.release(second)
        #expect(try allocator.allocate() == first)
    }

    @Test("exhaustion is a clear error naming the range and the reasons")
    func exhaustion() throws {
        let bound = Set([40003, 40007])
        let allocator = PortAllocator(range: 40000...40009, isBindable: { !bound.contains($0) })
        for _ in 0..<8 { _ = try allocator.allocate() }
        #expect(allocator.inUse == 8)
        #expect {
            _ = try allocator.allocate()
        } throws: { error in
            guard let error = error as? PortAllocator.AllocationError else { return false }
            return error.code == .exhausted && error.message.hasPrefix("no free port in 40000-40009: 8 in use by procmgr, 2 bound by other programs")
        }
    }

    @Test("the bind check skips a port another program listens on, for allocate and reserve")
    func realBindCheck() throws {
        // Find a port we can hold, then point an allocator at exactly that port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let allocator = PortAllocator(range: port...port)
        #expect(!PortAllocator.canBindLoopback(port))
        #expect(throws: PortAllocator.AllocationError.self) { _ = try allocator.allocate() }
        #expect {
            try allocator.reserve(fixed: port)
        } throws: { ($0 as? PortAllocator.AllocationError)?.code == .boundByOtherProgram }
        #expect(allocator.inUse == 0)
    }

    @Test("reserve(fixed:) claims a port once and respects the range")
    func reserveFixed() throws {
        let allocator = PortAllocator(range: 40000...40009, isBindable: { _ in true })
        try allocator.reserve(fixed: 40005)
        #expect(allocator.isAllocated(40005))
        #expect { try allocator.reserve(fixed: 40005) } throws: { ($0 as? PortAllocator.AllocationError)?.code == .alreadyAllocated }
        #expect { try allocator.reserve(fixed: 50000) } throws: { ($0 as? PortAllocator.AllocationError)?.code == .outOfRange }
        // allocate() never hands out a reserved port.
        var handed: Set<Int> = []
        for _ in 0..<9 { handed.insert(try allocator.allocate()) }
        #expect(!handed.contains(40005))
        #expect(handed.count == 9)
    }
}
