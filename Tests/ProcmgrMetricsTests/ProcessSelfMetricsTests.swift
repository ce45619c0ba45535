import Foundation
import ProcmgrMetrics
import Testing

/// The client_golang-compatible `process_*` metrics report plausible numbers.
@Suite struct ProcessSelfMetricsTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/stat"), "needs Linux /proc"))
    func presentWithPlausibleValues() throws {
        // Use at least 50 ms of CPU so the tick-granular counter cannot read 0.
        var spin = 0.0
        var index = 0.0
        while processCPUSeconds() < 0.05 {
            for _ in 0..<10_000 { spin += index.squareRoot(); index += 1 }
        }
        withExtendedLifetime(spin) {}  // keeps the work observable (not an assertion: it cannot fail)
        let registry = MetricsRegistry()
        try ProcessSelfMetrics.register(in: registry)
        try ProcessSelfMetrics.register(in: registry)  // idempotent
        let text = registry.exposition()
        for (name, type) in [
            ("process_cpu_seconds_total", "counter"), ("process_max_fds", "gauge"), ("process_open_fds", "gauge"),
            ("process_resident_memory_bytes", "gauge"), ("process_start_time_seconds", "gauge"),
            ("process_virtual_memory_bytes", "gauge"),
        ] {
            #expect(text.contains("# TYPE \(name) \(type)\n"))
        }
        #expect(text.contains("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"))

        let cpu = try #require(registry.sample("process_cpu_seconds_total"))
        let resident = try #require(registry.sample("process_resident_memory_bytes"))
        let virtual = try #require(registry.sample("process_virtual_memory_bytes"))
        let open = try #require(registry.sample("process_open_fds"))
        let max = try #require(registry.sample("process_max_fds"))
        let start = try #require(registry.sample("process_start_time_seconds"))
        let now = Date().timeIntervalSince1970
        #expect(cpu >= 0.04 && cpu <= processCPUSeconds() + 0.02)
        #expect(resident > 1_000_000)
        #expect(virtual > resident)
        #expect(open >= 3)
        #expect(max >= open)
        #expect(start > now - 7 * 86_400 && start <= now + 1)
        // Refreshed on every scrape: CPU time never goes backwards.
        #expect(try #require(registry.sample("process_cpu_seconds_total")) >= cpu)
    }

    /// This process's CPU time from the clock, independent of /proc.
    private func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
