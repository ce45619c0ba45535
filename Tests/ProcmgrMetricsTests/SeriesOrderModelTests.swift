import ProcmgrMetrics
import Testing

/// The exposition order is maintained incrementally (binary inserts, sort-and-
/// merge of bursts, removals between scrapes); after any sequence of changes
/// it must equal a brute-force sort of what is live. Compared as bytes: Swift's
/// `String ==` would equate `é` with `e` + combining accent.
@Suite struct SeriesOrderModelTests {
    static let pool = ["", "a", "a!", "ab", "b", "\u{E9}", "e\u{301}", "z", "Z", "0", "10", "9", "\"", "\\", "x\ny"]

    /// Exposition order: element by element, each value by its bytes.
    static func precedes(_ lhs: [String], _ rhs: [String]) -> Bool {
        for (left, right) in zip(lhs, rhs) where !left.utf8.elementsEqual(right.utf8) {
            return left.utf8.lexicographicallyPrecedes(right.utf8)
        }
        return false
    }

    static func escaped(_ value: String) -> [UInt8] {
        value.utf8.flatMap { byte -> [UInt8] in
            switch byte {
            case UInt8(ascii: "\\"): Array(#"\\"#.utf8)
            case UInt8(ascii: "\""): Array(#"\""#.utf8)
            case UInt8(ascii: "\n"): Array(#"\n"#.utf8)
            default: [byte]
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func incrementalOrderMatchesASortedModel(seed: UInt64) throws {
        var random = NumberFormattingPropertyTests.SplitMix(state: seed)
        let registry = MetricsRegistry()
        let family = try registry.gaugeFamily(name: "g", help: "", labelNames: ["a", "b"])
        var live: [[UInt8]: [String]] = [:]  // keyed by bytes, as Prometheus tells values apart
        func identity(_ values: [String]) -> [UInt8] { values.flatMap { Array($0.utf8) + [0xFF] } }

        func expectedLines() -> [[UInt8]] {
            live.values.sorted(by: Self.precedes).map { values in
                Array(#"g{a=""#.utf8) + Self.escaped(values[0]) + Array(#"",b=""#.utf8) + Self.escaped(values[1])
                    + Array(#""}"#.utf8)
            }
        }
        func renderedLines() -> [[UInt8]] {
            var bytes: [UInt8] = []
            registry.writeExposition(into: &bytes)
            return bytes.split(separator: UInt8(ascii: "\n")).dropFirst(2).map { line in
                Array(line[..<line.lastIndex(of: UInt8(ascii: " "))!])
            }
        }

        for step in 0..<2_000 {
            let values = [Self.pool.randomElement(using: &random)!, Self.pool.randomElement(using: &random)!]
            switch random.next() % 100 {
            case 0..<60:
                family.labels(values).set(Double(step))
                live[identity(values)] = values
            case 60..<98:
                family.remove(values)
                live[identity(values)] = nil
            default:  // scrapes are rarer, so changes pile up between them
                #expect(renderedLines() == expectedLines())
                #expect(family.seriesCount == live.count)
            }
            if step % 400 == 399 {  // a burst of new series before the next scrape: the sort-and-merge path
                for index in 0..<40 {
                    let burst = ["burst\(index % 13)", Self.pool.randomElement(using: &random)!]
                    family.labels(burst).set(1)
                    live[identity(burst)] = burst
                }
            }
        }
        #expect(renderedLines() == expectedLines())
    }
}
