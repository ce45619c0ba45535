/// The identity of a series inside its family: its label values, compared
/// and hashed by their UTF-8 bytes.
///
/// Swift's `String ==` uses canonical equivalence, so `"é"` (U+00E9) equals
/// `"e\u{301}"`; Prometheus treats those as different label values, and so
/// must we, or two series would silently merge.
struct LabelValues: Hashable, Sendable {
    let values: [String]
    /// The values' bytes hashed once, at creation. Swift's dictionary keeps no hashes in its
    /// table: every probe compares keys, and a miss in a family of tens of thousands of series
    /// walks a whole cluster of them. Comparing this first makes those probes integer compares,
    /// and growing the table rehashes one integer per key instead of every value's bytes.
    private let digest: Int

    init(_ values: [String]) {
        self.values = values
        var hasher = Hasher()
        for value in values {
            var value = value
            value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            hasher.combine(UInt8(0xFF))  // never occurs in UTF-8: an unambiguous separator
        }
        digest = hasher.finalize()
    }

    static func == (lhs: LabelValues, rhs: LabelValues) -> Bool {
        guard lhs.digest == rhs.digest, lhs.values.count == rhs.values.count else { return false }
        for index in lhs.values.indices where !utf8Equal(lhs.values[index], rhs.values[index]) {
            return false
        }
        return true
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
    }
}

/// Byte-wise equality of two strings' UTF-8.
func utf8Equal(_ lhs: String, _ rhs: String) -> Bool {
    var lhs = lhs
    var rhs = rhs
    return lhs.withUTF8 { left in
        rhs.withUTF8 { right in
            left.count == right.count && (left.isEmpty || left.elementsEqual(right))
        }
    }
}

/// Byte-wise three-way comparison of two strings' UTF-8.
func compareUTF8(_ lhs: String, _ rhs: String) -> Int {
    var lhs = lhs
    var rhs = rhs
    return lhs.withUTF8 { left in
        rhs.withUTF8 { right in compareBytes(left, right) }
    }
}

/// Lexicographic three-way comparison of byte strings.
@inline(__always)
func compareBytes(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Int {
    let shared = min(left.count, right.count)
    var index = 0
    while index < shared {
        let a = left[index]
        let b = right[index]
        if a != b { return a < b ? -1 : 1 }
        index += 1
    }
    return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
}

/// `lhs` sorts before `rhs` in exposition order: value by value, each by its
/// UTF-8 bytes, a shorter value before its extensions.
func labelValuesPrecede(_ lhs: LabelValues, _ rhs: LabelValues) -> Bool {
    for (left, right) in zip(lhs.values, rhs.values) {
        let order = compareUTF8(left, right)
        if order != 0 { return order < 0 }
    }
    return lhs.values.count < rhs.values.count
}
