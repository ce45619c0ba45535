/// The configured API token, compared in constant time.
public struct BearerToken: Sendable, Equatable {
    private let bytes: [UInt8]

    public init(_ token: String) {
        bytes = Array(token.utf8)
    }

    /// Compares every byte whatever the first difference, and the length in
    /// the same pass, so the time taken says nothing about how much of a
    /// guess was right (the timing side channel a plain `==` opens).
    public func matches(_ presented: some Collection<UInt8>) -> Bool {
        var difference = UInt64(truncatingIfNeeded: bytes.count ^ presented.count)
        var index = 0
        for byte in presented {
            let expected = bytes.isEmpty ? 0 : bytes[index % bytes.count]
            difference |= UInt64(expected ^ byte)
            index += 1
        }
        return difference == 0 && !bytes.isEmpty
    }

    /// The credentials of `Authorization: Bearer <credentials>`; the scheme
    /// is case-insensitive (RFC 9110 §11.1), surrounding spaces are dropped.
    ///
    /// Works on UTF-8 bytes, not Characters: a space followed by a combining mark is one
    /// Character, so trimming Characters left a space byte at the front of the credentials
    /// (found by the bearer-token fuzzer).
    public static func credentials(fromAuthorization header: String?) -> Substring.UTF8View? {
        guard let header else { return nil }
        let bytes = header.utf8
        let space = UInt8(ascii: " ")
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == space { start = bytes.index(after: start) }
        for expected in "bearer ".utf8 {
            guard start < bytes.endIndex else { return nil }
            let byte = bytes[start]
            let lowered = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            guard lowered == expected else { return nil }
            start = bytes.index(after: start)
        }
        while start < bytes.endIndex, bytes[start] == space { start = bytes.index(after: start) }
        var end = bytes.endIndex
        while end > start, bytes[bytes.index(before: end)] == space { end = bytes.index(before: end) }
        return end > start ? bytes[start..<end] : nil
    }
}
