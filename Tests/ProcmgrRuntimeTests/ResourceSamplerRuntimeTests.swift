import Glibc
@testable import ProcmgrRuntime
import ProcmgrTestKit
import Testing

/// The runtime's CPU and memory series come from samples taken in the background, while someone
/// scrapes; a scrape only copies them.
@Suite("Process runtime: resource series from the background sampler", .timeLimit(.minutes(2)))
struct ResourceSamplerRuntimeTests {
    static let age = "procmgr_child_resource_sample_age_seconds"

    @Test("asleep until the first scrape, which wakes it; later scrapes serve its samples")
    func wakesOnScrape() async throws {
        try await RuntimeHarness.with { h in
            let sampler = h.runtime.resourceSampler
            try await eventually("the sampler sleeps: nobody scraped yet") { sampler.isAsleep }
            #expect(sampler.rounds == 0)
            h.manager.update("busy", config: managed(["sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo spent; exec sleep 600"]), type: .create)
            h.manager.update("idle", config: managed(["sleep", "600"]), type: .create)
            try await eventually("spent") { h.output(of: "busy") == ["spent"] }
            try await h.waitFor("idle", .running)
            #expect(sampler.rounds == 0, "nothing sampled without a scrape")

            // Each `sample` renders the exposition: a scrape.
            let memory = #"procmgr_child_resident_memory_bytes{process="idle"}"#
            let cpu = #"procmgr_child_cpu_seconds_total{process="busy"}"#
            try await eventually("the series appear") { (h.sample(memory) ?? 0) > 0 && (h.sample(cpu) ?? 0) > 0 }
            let age = try #require(h.sample(Self.age))
            #expect(age >= 0 && age < 60, "age \(age)")
        }
    }

    @Test("a scrape serves the cached sample as it is, and the age of the oldest")
    func servesTheCache() async throws {
        // One round, then none for an hour: what the scrape shows is what the cache holds.
        let slow = ResourceSamplingPacing(minimumPeriod: .seconds(3600))
        try await RuntimeHarness.with(resourceSampling: slow) { h in
            h.manager.update("idle", config: managed(["sleep", "600"]), type: .create)
            try await h.waitFor("idle", .running)
            let memory = #"procmgr_child_resident_memory_bytes{process="idle"}"#
            try await eventually("the first round's sample is served") { (h.sample(memory) ?? 0) > 0 }
            // The round ends (and is counted) just after its last batch was stored.
            try await eventually("the round is counted") { h.runtime.resourceSampler.rounds == 1 }

            h.runtime.instances.withLock {
                $0["idle"]?.resourceSample = ResourceSample(
                    usage: ProgramResourceUsage(cpuSeconds: 7, memoryBytes: 4242), takenAt: .now - .seconds(30))
            }
            #expect(h.sample(memory) == 4242, "copied from the cache, not read at the scrape")
            #expect(h.sample(#"procmgr_child_cpu_seconds_total{process="idle"}"#) == 7)
            let age = try #require(h.sample(Self.age))
            #expect(age >= 30 && age < 3600, "the injected sample is 30 s old: \(age)")

            // The status API samples now, and refreshes what scrapes serve.
            let usage = try #require(h.runtime.resourceUsage(of: ["idle"])["idle"])
            #expect(usage.memoryBytes > 0 && usage.memoryBytes != 4242)
            #expect(h.sample(memory) == Double(usage.memoryBytes))
            #expect(h.sample(#"procmgr_child_cpu_seconds_total{process="idle"}"#) == 7, "a counter never goes down")
            #expect((h.sample(Self.age) ?? 60) < 30)
        }
    }

    @Test("without scrapes for idleAfter the sampler sleeps; the next scrape wakes it")
    func sleepsWithoutScrapes() async throws {
        let pacing = ResourceSamplingPacing(minimumPeriod: .milliseconds(20), cpuBudget: 0.5, idleAfter: .milliseconds(300))
        try await RuntimeHarness.with(resourceSampling: pacing) { h in
            let sampler = h.runtime.resourceSampler
            #expect(h.sample(Self.age) == 0, "no program")
            h.manager.update("idle", config: managed(["sleep", "600"]), type: .create)
            try await h.waitFor("idle", .running)
            try await eventually("a scrape started a round") {
                _ = h.registry.exposition()
                return sampler.rounds >= 1
            }
            try await eventually("asleep once nobody scrapes") { sampler.isAsleep }
            let rounds = sampler.rounds
            // Scraped again and again: on a loaded machine the woken sampler may first run more
            // than idleAfter (300 ms here) after one scrape, and rightly fall asleep again.
            try await eventually("a scrape woke it") {
                _ = h.registry.exposition()
                return sampler.rounds > rounds
            }
        }
    }
}
