/// A fixed scratch area (on the stack) that exposition writes into with plain
/// `memcpy`s, flushed to the output array in large chunks.
///
/// Swift arrays can't expose spare capacity for writing, and per-piece
/// `append(contentsOf:)` costs a uniqueness check, a capacity check and
/// reference counting each time; with thousands of series that dominated
/// scrape time. Staging makes the per-series cost a few copies.
struct StagingBuffer: ~Copyable {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var used = 0

    /// Runs `body` with a staging area, flushing whatever is left into `output` at the end.
    static func with<Result>(
        flushingInto output: inout [UInt8], _ body: (inout StagingBuffer, inout [UInt8]) -> Result
    ) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16 * 1024) { scratch in
            guard let base = scratch.baseAddress else {
                // invariant: a non-empty temporary allocation always has a base address.
                preconditionFailure("no scratch memory")
            }
            var staging = StagingBuffer(base: base, capacity: scratch.count)
            let result = body(&staging, &output)
            staging.flush(into: &output)
            return result
        }
    }

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    mutating func flush(into output: inout [UInt8]) {
        guard used > 0 else { return }
        output.append(contentsOf: UnsafeBufferPointer(start: base, count: used))
        used = 0
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, output: inout [UInt8]) {
        let count = bytes.count
        guard count > 0 else { return }
        if count > capacity - used {
            flush(into: &output)
            if count > capacity {  // a huge label value: copy it straight through
                output.append(contentsOf: bytes)
                return
            }
        }
        guard let source = bytes.baseAddress else { return }  // non-empty buffers always have one
        (base + used).update(from: source, count: count)
        used += count
    }

    @inline(__always)
    mutating func append(_ bytes: [UInt8], output: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0, output: &output) }
    }

    @inline(__always)
    mutating func append(_ byte: UInt8, output: inout [UInt8]) {
        if used == capacity { flush(into: &output) }
        base[used] = byte
        used += 1
    }

    /// The Go rendering of `value` followed by a newline.
    @inline(__always)
    mutating func appendValueLine(_ value: Double, output: inout [UInt8]) {
        if capacity - used < GoFloat.maxLength + 1 { flush(into: &output) }
        used += GoFloat.write(value, to: base + used)
        base[used] = UInt8(ascii: "\n")
        used += 1
    }
}
