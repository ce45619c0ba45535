import ProcmgrMetrics
import Testing

/// Lock-free handles lose nothing under contention, and every exposition is
/// internally consistent.
@Suite struct ConcurrencyTests {
    static let tasks = 4
    static let perTask = 100_000

    @Test func counterIncrementsAreExact() async throws {
        let registry = MetricsRegistry()
        let counter = try registry.counter(name: "c_total", help: "")
        let halves = try registry.counter(name: "halves_total", help: "")
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.tasks {
                group.addTask {
                    for _ in 0..<Self.perTask {
                        counter.increment()
                        halves.increment(by: 0.5)  // fractional: the CAS path
                    }
                }
            }
        }
        #expect(counter.value == Double(Self.tasks * Self.perTask))
        #expect(halves.value == Double(Self.tasks * Self.perTask) / 2)
        #expect(registry.sampleValue("c_total") == "400000")
    }

    @Test func gaugeIncrementsAndDecrementsAreExact() async throws {
        let gauge = try MetricsRegistry().gauge(name: "g", help: "")
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<Self.tasks {
                group.addTask {
                    for _ in 0..<Self.perTask {
                        if task.isMultiple(of: 2) { gauge.increment(by: 3) } else { gauge.decrement() }
                    }
                }
            }
        }
        #expect(gauge.value == Double(Self.perTask * 2 * 3 - Self.perTask * 2))
    }

    @Test func histogramCountAlwaysEqualsInfBucket() async throws {
        let registry = MetricsRegistry()
        let histogram = try registry.histogram(name: "h", help: "", buckets: [0.25, 0.5, 0.75])
        let inconsistencies = await withTaskGroup(of: Int.self) { group in
            for task in 0..<Self.tasks {
                group.addTask {
                    for index in 0..<Self.perTask {
                        histogram.observe(Double((index + task) % 4) * 0.25 + 0.125)
                    }
                    return 0
                }
            }
            group.addTask {  // a scraper racing the observers
                var bad = 0
                for _ in 0..<200 {
                    let inf = registry.sampleValue(#"h_bucket{le="+Inf"}"#)
                    let count = registry.sampleValue("h_count")
                    _ = (inf, count)
                    let text = registry.exposition()
                    let lines = text.split(separator: "\n")
                    let infValue = lines.first { $0.hasPrefix(#"h_bucket{le="+Inf"} "#) }?.split(separator: " ").last
                    let countValue = lines.first { $0.hasPrefix("h_count ") }?.split(separator: " ").last
                    if infValue == nil || infValue != countValue { bad += 1 }
                }
                return bad
            }
            return await group.reduce(0, +)
        }
        #expect(inconsistencies == 0)
        let total = UInt64(Self.tasks * Self.perTask)
        #expect(histogram.count == total)
        #expect(histogram.sum == Double(total) / 4 * (0.125 + 0.375 + 0.625 + 0.875))
        #expect(registry.sample(#"h_bucket{le="0.25"}"#) == Double(total) / 4)
        #expect(registry.sample(#"h_bucket{le="0.5"}"#) == Double(total) / 2)
        #expect(registry.sample(#"h_bucket{le="+Inf"}"#) == Double(total))
        #expect(registry.sample("h_count") == Double(total))
    }

    @Test func concurrentGetOrCreateYieldsOneSeries() async throws {
        let registry = MetricsRegistry()
        let family = try registry.counterFamily(name: "c_total", help: "", labelNames: ["p"])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.tasks {
                group.addTask {
                    for index in 0..<2_000 {
                        family.labels("p\(index % 50)").increment()
                    }
                }
            }
        }
        #expect(family.seriesCount == 50)
        #expect(family.labels("p7").value == Double(Self.tasks * 2_000 / 50))
    }

    @Test func registrationRemovalAndScrapesRaceSafely() async throws {
        let registry = MetricsRegistry()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<Self.tasks {
                group.addTask {
                    for index in 0..<300 {
                        let name = "f\(index % 7)"
                        if let family = try? registry.gaugeFamily(name: name, help: "", labelNames: ["t"]) {
                            family.labels("\(task)").set(Double(index))
                            if index.isMultiple(of: 5) { family.remove("\(task)") }
                        }
                        if index.isMultiple(of: 11) { registry.unregister(name: name) }
                        if index.isMultiple(of: 13) { _ = registry.exposition() }
                    }
                }
            }
        }
        // Whatever survived renders as well-formed lines.
        for line in registry.exposition().split(separator: "\n") {
            #expect(line.hasPrefix("#") || line.hasPrefix("f"))
        }
    }
}
