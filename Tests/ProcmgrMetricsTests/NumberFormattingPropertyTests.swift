import ProcmgrMetrics
import Testing

/// Checks the exposition's number formatting against an independent, slow
/// reference (plain `String` code over Swift's shortest round-trip
/// `description`) on many values of every shape, so the registry's fast paths
/// (integers, few decimals) can't drift from the general rule.
@Suite struct NumberFormattingPropertyTests {
    /// Go's `FormatFloat(v, 'g', -1, 64)` with client_golang's special cases.
    static func goReference(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let text = value.magnitude.description
        let parts = text.split(separator: "e")
        let mantissa = String(parts[0])
        let exponent = parts.count > 1 ? Int(parts[1])! : 0
        let pieces = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(pieces[0])
        let fractionPart = pieces.count > 1 ? String(pieces[1]) : ""
        var digits = Array(integerPart + fractionPart)
        var decimalPoint = integerPart.count + exponent
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            decimalPoint -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let sign = value < 0 ? "-" : ""
        let decimalExponent = decimalPoint - 1
        if decimalExponent < -4 || decimalExponent >= 6 {
            let rest = digits.count > 1 ? "." + String(digits.dropFirst()) : ""
            let magnitude = abs(decimalExponent)
            let exponentText = (magnitude < 10 ? "0" : "") + String(magnitude)
            return sign + String(digits[0]) + rest + "e" + (decimalExponent < 0 ? "-" : "+") + exponentText
        }
        if decimalPoint <= 0 {
            return sign + "0." + String(repeating: "0", count: -decimalPoint) + String(digits)
        }
        if decimalPoint >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: decimalPoint - digits.count)
        }
        return sign + String(digits[..<decimalPoint]) + "." + String(digits[decimalPoint...])
    }

    /// A deterministic generator (SplitMix64) so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func values() -> [Double] {
        var random = SplitMix(state: 0x5EED)
        var values: [Double] = []
        for _ in 0..<4_000 {  // any bit pattern: every exponent, subnormals, NaN, infinities
            values.append(Double(bitPattern: random.next()))
        }
        for _ in 0..<4_000 {  // decimals with few digits at every scale: the fast path's home
            let integer = Double(Int64.random(in: -9_999_999_999...9_999_999_999, using: &random))
            let power = Double.random(in: 0...1, using: &random) < 0.5 ? 1.0 : 1e-6
            values.append(integer / pow10(Int.random(in: 0...12, using: &random)) * power)
        }
        for _ in 0..<2_000 {  // arithmetic results that need many digits
            let a = Double(Int.random(in: 1...1_000, using: &random)) / 10
            let b = Double(Int.random(in: 1...1_000, using: &random)) / 100
            values.append(a + b)
            values.append(a * b / 3)
            values.append(1_763_800_000.25 + b)
        }
        for exponent in -30...30 {  // around the %e / %f switch and powers of ten
            let power = pow10(exponent)
            values += [power, power.nextUp, power.nextDown, -power, 1.5 * power, 0.99999 * power]
        }
        values += [Double(1 << 53), Double(1 << 53).nextUp, Double(1 << 53).nextDown, 999_999.5, 1e6 - 0.5,
                   0.1 + 0.2, .ulpOfOne, .leastNormalMagnitude, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        return values
    }

    static func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }

    @Test func matchesTheReferenceEverywhere() throws {
        let values = Self.values()
        let registry = MetricsRegistry()
        let family = try registry.gaugeFamily(name: "v", help: "", labelNames: ["i"])
        let width = String(values.count).count
        func label(_ index: Int) -> String {
            let digits = String(index)
            return String(repeating: "0", count: width - digits.count) + digits  // sorts like the index
        }
        for (index, value) in values.enumerated() {
            family.labels(label(index)).set(value)
        }
        let lines = registry.exposition().split(separator: "\n").dropFirst(2)
        #expect(lines.count == values.count)
        var mismatches = 0
        for (index, line) in lines.enumerated() {
            let rendered = String(line.split(separator: " ").last!)
            let expected = Self.goReference(values[index])
            if rendered != expected {
                mismatches += 1
                if mismatches <= 10 {
                    Issue.record("\(values[index].bitPattern): rendered \(rendered), expected \(expected)")
                }
            }
            if let parsed = Double(rendered), !values[index].isNaN {  // and it round-trips
                #expect(parsed == values[index] || (parsed == 0 && values[index] == 0))
            }
        }
        #expect(mismatches == 0)
    }
}
