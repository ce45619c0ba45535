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
    public static func credentials(fromAuthorization header: String?) -> Substring.UTF8View? {
        guard let header else { return nil }
        let trimmed = header.drop { $0 == " " }
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let credentials = trimmed.dropFirst(7).drop { $0 == " " }
        var end = credentials.endIndex
        while end > credentials.startIndex, credentials[credentials.index(before: end)] == " " {
            end = credentials.index(before: end)
        }
        let token = credentials[..<end]
        return token.isEmpty ? nil : token.utf8
    }
}
