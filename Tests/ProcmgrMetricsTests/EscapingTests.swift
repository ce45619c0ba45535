import ProcmgrMetrics
import Testing

/// Label values and HELP text can be anything; the output must stay parseable.
@Suite struct EscapingTests {
    @Test func labelValuesEscapeBackslashQuoteAndNewline() throws {
        let registry = MetricsRegistry()
        let family = try registry.gaugeFamily(name: "g", help: "G.", labelNames: ["v"])
        family.labels(#"C:\dir "x""# + "\nnext").set(1)
        #expect(registry.sampleValue(#"g{v="C:\\dir \"x\"\nnext"}"#) == "1")
    }

    @Test func nonASCIIAndControlCharactersPassThrough() throws {
        let registry = MetricsRegistry()
        let family = try registry.gaugeFamily(name: "g", help: "G.", labelNames: ["v"])
        let value = "ü 日本 🎉 tab\there \u{0}nul \r cr {},="
        family.labels(value).set(2)
        #expect(registry.sampleValue("g{v=\"\(value)\"}") == "2")
    }

    @Test func emptyLabelValue() throws {
        let registry = MetricsRegistry()
        try registry.counterFamily(name: "c_total", help: "", labelNames: ["a", "b"]).labels("", "x").increment()
        #expect(registry.sampleValue(#"c_total{a="",b="x"}"#) == "1")
    }

    @Test func helpEscapesBackslashAndNewlineOnly() throws {
        let registry = MetricsRegistry()
        _ = try registry.counterFamily(name: "c_total", help: #"a\b "quoted" ü"# + "\nsecond line", labelNames: ["x"])
        #expect(registry.exposition() == #"""
            # HELP c_total a\\b "quoted" ü\nsecond line
            # TYPE c_total counter

            """#)
    }

    @Test func canonicallyEquivalentValuesAreDistinctSeries() throws {
        // Swift's String == says these are equal; Prometheus compares bytes.
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["v"])
        family.labels("\u{E9}").increment()        // é precomposed (C3 A9)
        family.labels("e\u{301}").increment(by: 2)  // e + combining acute (65 CC 81)
        #expect(family.seriesCount == 2)
        #expect(registry.exposition() == """
            # HELP c_total 
            # TYPE c_total counter
            c_total{v="e\u{301}"} 2
            c_total{v="\u{E9}"} 1

            """)
    }
}

/// The exposition is a pure function of the registry's contents.
@Suite struct OrderingTests {
    private static let processes = ["web", "Web", "api", "a", "a!", "a\"", "ä", "z", "", "10", "9"]

    private func populate(_ registry: MetricsRegistry, reversed: Bool) throws {
        let order = reversed ? Array(Self.processes.reversed()) : Self.processes
        let makeFamilies: [() throws -> Void] = [
            { _ = try registry.gaugeFamily(name: "zeta", help: "Z.", labelNames: ["process", "kind"]) },
            { _ = try registry.counterFamily(name: "alpha_total", help: "A.", labelNames: ["process"]) },
            { _ = try registry.histogramFamily(name: "mid_seconds", help: "M.", labelNames: ["process"]) },
        ]
        for make in reversed ? makeFamilies.reversed() : makeFamilies { try make() }
        let zeta = try registry.gaugeFamily(name: "zeta", help: "Z.", labelNames: ["process", "kind"])
        let alpha = try registry.counterFamily(name: "alpha_total", help: "A.", labelNames: ["process"])
        let mid = try registry.histogramFamily(name: "mid_seconds", help: "M.", labelNames: ["process"])
        for (index, process) in order.enumerated() {
            let value = Double(Self.processes.firstIndex(of: process)!)
            zeta.labels(process, "x").set(value)
            zeta.labels(process, index.isMultiple(of: 2) ? "b" : "a").set(value)
            zeta.labels(process, index.isMultiple(of: 2) ? "a" : "b").set(value)
            alpha.labels(process).increment(by: value)
            mid.labels(process).observe(value / 10)
        }
    }

    @Test func insertionOrderDoesNotMatter() throws {
        let first = MetricsRegistry()
        let second = MetricsRegistry()
        try populate(first, reversed: false)
        try populate(second, reversed: true)
        let text = first.exposition()
        #expect(text == second.exposition())
        #expect(text == first.exposition())  // and repeated scrapes agree
    }

    @Test func seriesAreInByteOrderOfLabelValues() throws {
        let registry = MetricsRegistry()
        try populate(registry, reversed: true)
        let prefix = "alpha_total{process=\""
        let seen = registry.exposition().split(separator: "\n")
            .filter { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count).prefix { $0 != " " }.dropLast(2)) }
        // `a"` is rendered escaped; compare against the escaped spellings.
        #expect(seen == ["", "10", "9", "Web", "a", "a!", #"a\""#, "api", "web", "z", "ä"])
    }

    @Test func multiLabelOrderIsElementByElement() throws {
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["a", "b"])
        // Concatenation order would put "ab"+"" before "a"+"c"; element order must not.
        for values in [["ab", ""], ["a", "c"], ["a", "b"], ["b", "a"]] { family.labels(values).increment() }
        let lines = registry.exposition().split(separator: "\n").dropFirst(2).map(String.init)
        #expect(lines == [
            #"c_total{a="a",b="b"} 1"#,
            #"c_total{a="a",b="c"} 1"#,
            #"c_total{a="ab",b=""} 1"#,
            #"c_total{a="b",b="a"} 1"#,
        ])
    }
}
