/// Formats sample values exactly like client_golang's text exposition.
///
/// client_golang's `writeFloat` special-cases `1`, `0` (also `-0`), `-1`,
/// `NaN`, `+Inf`, `-Inf` and otherwise calls
/// `strconv.AppendFloat(f, 'g', -1, 64)`. For the shortest `'g'` form Go's
/// `strconv/ftoa.go` picks `%e` when the decimal exponent is `< -4` or
/// `>= 6` — "if precision was the shortest possible, use precision 6 for this
/// decision" (21 is JavaScript's threshold, not Go's). So `1e+06`,
/// `1.234567e+06`, `123456.789`, `0.0001`, `1e-05`. `%e` writes the exponent
/// with a sign and at least two digits. Counts (`_count`, buckets) go through
/// the same function in client_golang, so they do here too.
///
/// The digits are the shortest that round-trip, which Swift's `description`
/// also produces; we reformat them into Go's layout. Integral values below
/// 2^53 (nearly every counter and count) skip `description` entirely: their
/// shortest digits are their integer digits without trailing zeros.
///
/// Everything is written through a raw pointer into a caller-provided scratch
/// area, so a sample costs one `append(contentsOf:)` instead of one per byte.
enum GoFloat {
    /// Upper bound of bytes `write` produces (`-1.7976931348623157e+308` is 24).
    static let maxLength = 32

    /// Appends the Go rendering of `value`.
    static func append(_ value: Double, to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxLength) { scratch in
            guard let base = scratch.baseAddress else { return }  // a 32-byte allocation always has one
            let count = write(value, to: base)
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
        }
    }

    /// Writes the Go rendering of `value` at `out` (room for ``maxLength``
    /// bytes) and returns the number of bytes written.
    static func write(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let magnitude = value.magnitude
        if magnitude < 9_007_199_254_740_992 {  // 2^53; false for NaN
            let integer = UInt64(magnitude)  // truncating conversion, no libm call
            if Double(integer) == magnitude {
                // Also covers 0, -0 ("0"), 1 and -1 exactly as writeFloat's special cases do.
                return writeIntegral(integer, negative: value < 0 && integer != 0, to: out)
            }
            let written = writeFewDecimals(magnitude, negative: value < 0, to: out)
            if written > 0 { return written }
            return writeFromDescription(magnitude, negative: value < 0, to: out)
        }
        if value.isNaN { return copy("NaN", to: out) }
        if value.isInfinite { return copy(value < 0 ? "-Inf" : "+Inf", to: out) }
        return writeFromDescription(magnitude, negative: value < 0, to: out)
    }

    private static func copy(_ text: StaticString, to out: UnsafeMutablePointer<UInt8>) -> Int {
        out.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }

    /// "00" "01" … "99": two digits per division.
    private static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    @inline(__always)
    private static func writeIntegral(_ integer: UInt64, negative: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        if integer < 1_000_000 {  // plain digits: the common case
            var rest = UInt32(truncatingIfNeeded: integer)
            let length = rest < 10 ? 1 : rest < 100 ? 2 : rest < 1000 ? 3 : rest < 10_000 ? 4 : rest < 100_000 ? 5 : 6
            var digits = out
            if negative {
                out[0] = UInt8(ascii: "-")
                digits += 1
            }
            let pairs = digitPairs.utf8Start
            var position = length
            while rest >= 100 {
                let pair = Int(rest % 100) &* 2
                rest /= 100
                position &-= 2
                digits[position] = pairs[pair]
                digits[position &+ 1] = pairs[pair &+ 1]
            }
            if rest >= 10 {
                let pair = Int(rest) &* 2
                digits[0] = pairs[pair]
                digits[1] = pairs[pair &+ 1]
            } else {
                digits[0] = UInt8(truncatingIfNeeded: 48 &+ rest)
            }
            return length + (negative ? 1 : 0)
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var position = 20
            var rest = integer
            repeat {
                position -= 1
                scratch[position] = UInt8(truncatingIfNeeded: 48 &+ rest % 10)
                rest /= 10
            } while rest > 0
            let decimalPoint = 20 - position  // after all integer digits
            var end = 20
            while end - position > 1, scratch[end - 1] == UInt8(ascii: "0") { end -= 1 }
            let digits = UnsafeBufferPointer(rebasing: scratch[position..<end])
            return emit(negative: negative, digits: digits, decimalPoint: decimalPoint, to: out)
        }
    }

    /// Exact fast path for non-integral values with few decimals (`0.25`,
    /// `1763800000.25`): finds the fewest fractional digits `k` whose decimal
    /// `s / 10^k` (with `s = round(v * 10^k)`) converts back to `v`, checked
    /// with one IEEE division of exact operands (which rounds exactly like
    /// parsing the decimal does). Only `k` with `ulp(v) < 10^-k` are tried:
    /// there at most one `k`-digit decimal lies in `v`'s rounding interval,
    /// so the first hit is the unique shortest digit string, i.e. what Go and
    /// Swift's `description` produce (and rounding `v * 10^k` can only miss
    /// it when no candidate exists). Returns 0 when it cannot decide, leaving
    /// the value to ``writeFromDescription(_:negative:to:)``.
    private static func writeFewDecimals(_ magnitude: Double, negative: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let ulp = magnitude.ulp
        var scale = 1.0
        for fractionDigits in 1...17 {
            scale *= 10  // exact up to 1e22
            guard ulp * scale < 1 else { return 0 }
            let scaled = (magnitude * scale).rounded()
            guard scaled < 9_007_199_254_740_992 else { return 0 }
            if scaled / scale == magnitude {
                return writeScaled(UInt64(scaled), fractionDigits: fractionDigits, negative: negative, to: out)
            }
        }
        return 0
    }

    /// Emits `integer * 10^-fractionDigits` (its last digit is non-zero).
    private static func writeScaled(
        _ integer: UInt64, fractionDigits: Int, negative: Bool, to out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var position = 20
            var rest = integer
            repeat {
                position -= 1
                scratch[position] = UInt8(truncatingIfNeeded: 48 &+ rest % 10)
                rest /= 10
            } while rest > 0
            let digits = UnsafeBufferPointer(rebasing: scratch[position..<20])
            return emit(negative: negative, digits: digits, decimalPoint: digits.count - fractionDigits, to: out)
        }
    }

    /// Parses Swift's shortest round-trip `description` (`123.456`, `0.005`,
    /// `1e-05`, `1.5e+20`, `1000000000000000.0`) into digits and a decimal-point
    /// position, then re-emits them Go's way.
    private static func writeFromDescription(
        _ magnitude: Double, negative: Bool, to out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var text = magnitude.description
        return text.withUTF8 { utf8 in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: utf8.count) { scratch in
                var digitCount = 0
                var pointAt: Int? = nil
                var index = 0
                while index < utf8.count {
                    let byte = utf8[index]
                    if byte == UInt8(ascii: ".") {
                        pointAt = digitCount
                    } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                        scratch[digitCount] = byte
                        digitCount += 1
                    } else {
                        break  // 'e'
                    }
                    index += 1
                }
                var exponent = 0
                if index < utf8.count {  // e[+-]ddd
                    index += 1
                    var exponentNegative = false
                    if index < utf8.count, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
                        exponentNegative = utf8[index] == UInt8(ascii: "-")
                        index += 1
                    }
                    while index < utf8.count {
                        exponent = exponent * 10 + Int(utf8[index] &- 48)
                        index += 1
                    }
                    if exponentNegative { exponent = -exponent }
                }
                var decimalPoint = (pointAt ?? digitCount) + exponent
                var start = 0
                while start < digitCount - 1, scratch[start] == UInt8(ascii: "0") {
                    start += 1
                    decimalPoint -= 1
                }
                var end = digitCount
                while end - start > 1, scratch[end - 1] == UInt8(ascii: "0") { end -= 1 }
                let digits = UnsafeBufferPointer(rebasing: scratch[start..<end])
                return emit(negative: negative, digits: digits, decimalPoint: decimalPoint, to: out)
            }
        }
    }

    /// Go's `%g` layout for shortest digits `d1 d2 … dn` meaning `0.d1…dn × 10^decimalPoint`.
    private static func emit(
        negative: Bool, digits: UnsafeBufferPointer<UInt8>, decimalPoint: Int, to out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var position = 0
        func put(_ byte: UInt8) {
            out[position] = byte
            position += 1
        }
        func put(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) {
            for byte in bytes { put(byte) }
        }
        if negative { put(UInt8(ascii: "-")) }
        let exponent = decimalPoint - 1
        if exponent < -4 || exponent >= 6 {
            put(digits[0])
            if digits.count > 1 {
                put(UInt8(ascii: "."))
                put(digits[1...])
            }
            put(UInt8(ascii: "e"))
            put(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let magnitude = exponent.magnitude
            if magnitude < 10 { put(UInt8(ascii: "0")) }
            if magnitude >= 100 { put(UInt8(truncatingIfNeeded: 48 &+ magnitude / 100)) }
            if magnitude >= 10 { put(UInt8(truncatingIfNeeded: 48 &+ (magnitude / 10) % 10)) }
            put(UInt8(truncatingIfNeeded: 48 &+ magnitude % 10))
        } else if decimalPoint <= 0 {  // 0.000ddd (at most four zeros)
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "."))
            for _ in 0 ..< -decimalPoint { put(UInt8(ascii: "0")) }
            put(digits[...])
        } else if decimalPoint >= digits.count {  // ddd000 (below 1e6)
            put(digits[...])
            for _ in 0 ..< decimalPoint - digits.count { put(UInt8(ascii: "0")) }
        } else {  // ddd.ddd
            put(digits[..<decimalPoint])
            put(UInt8(ascii: "."))
            put(digits[decimalPoint...])
        }
        return position
    }
}
