import ProcmgrMetrics
import Testing

/// Sample values render like client_golang (`strconv.FormatFloat(f, 'g', -1, 64)`
/// plus its special cases): scientific when the decimal exponent is < -4 or >= 6.
@Suite struct NumberFormattingTests {
    static let table: [(Double, String)] = [
        (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (2, "2"), (-7, "-7"),
        (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"),
        (0.005, "0.005"), (0.25, "0.25"), (2.5, "2.5"), (-2.5, "-2.5"), (10, "10"), (100, "100"),
        (0.1, "0.1"), (0.0001, "0.0001"), (0.00001, "1e-05"), (0.000123, "0.000123"), (1.5e-7, "1.5e-07"),
        (123456.789, "123456.789"), (999_999, "999999"), (1_000_000, "1e+06"), (1_234_567, "1.234567e+06"),
        (-1_500_000, "-1.5e+06"), (12_345_678.9, "1.23456789e+07"), (1e15, "1e+15"), (1e21, "1e+21"),
        (9_007_199_254_740_992, "9.007199254740992e+15"), (9_007_199_254_740_991, "9.007199254740991e+15"),
        (4.468743327960138e+16, "4.468743327960138e+16"), (123_456_789_012_345_680_000.0, "1.2345678901234568e+20"),
        (1e100, "1e+100"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (.leastNonzeroMagnitude, "5e-324"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (0.30000000000000004, "0.30000000000000004"), (1.0 / 3.0, "0.3333333333333333"),
    ]

    @Test(arguments: table)
    func formatsLikeGo(value: Double, expected: String) throws {
        #expect(try formatted(value) == expected)
    }

    @Test func bucketBoundsUseTheSameFormat() throws {
        let registry = MetricsRegistry()
        _ = try registry.histogram(name: "h", help: "", buckets: [0.00001, 0.5, 1, 2_000_000])
        let les = registry.exposition().split(separator: "\n")
            .filter { $0.hasPrefix("h_bucket") }
            .map { $0.split(separator: "\"")[1] }
        #expect(les == ["1e-05", "0.5", "1", "2e+06", "+Inf"])
    }

    @Test func bucketHelpers() {
        #expect(HistogramBuckets.defaultSeconds == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        #expect(HistogramBuckets.exponential(start: 1, factor: 2, count: 4) == [1, 2, 4, 8])
        #expect(HistogramBuckets.linear(start: 0, width: 5, count: 3) == [0, 5, 10])
        #expect(HistogramBuckets.exponential(start: 0, factor: 2, count: 4) == [])
        #expect(HistogramBuckets.exponential(start: 1, factor: 1, count: 4) == [])
        #expect(HistogramBuckets.exponential(start: 1, factor: 2, count: 0) == [])
        #expect(HistogramBuckets.linear(start: 0, width: 0, count: 3) == [])
        #expect(HistogramBuckets.linear(start: .nan, width: 1, count: 3) == [])
    }
}
