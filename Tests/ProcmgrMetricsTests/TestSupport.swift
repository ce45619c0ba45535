import ProcmgrMetrics
import Synchronization

/// Collects what a registry reports through `onMisuse`, so tests can assert
/// on misuse that is (by design) not thrown.
final class MisuseLog: Sendable {
    private let errors = Mutex<[MetricsRegistryError]>([])

    var codes: [MetricsRegistryError.Code] {
        errors.withLock { $0.map(\.code) }
    }

    var all: [MetricsRegistryError] {
        errors.withLock { $0 }
    }

    func record(_ error: MetricsRegistryError) {
        errors.withLock { $0.append(error) }
    }

    /// A registry reporting into this log.
    func registry() -> MetricsRegistry {
        MetricsRegistry(onMisuse: { [self] in record($0) })
    }
}

extension MetricsRegistry {
    /// The value token of the exposition line that starts with `series + " "`, if any.
    func sampleValue(_ series: String) -> String? {
        for line in exposition().split(separator: "\n") where line.hasPrefix(series + " ") {
            return String(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// `sampleValue` parsed as a Double (Prometheus spellings of the specials included).
    func sample(_ series: String) -> Double? {
        guard let token = sampleValue(series) else { return nil }
        switch token {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(token)
        }
    }
}

/// Renders one value through the public API (a gauge's exposition line), so
/// number formatting is tested exactly as a scrape sees it.
func formatted(_ value: Double) throws -> String {
    let registry = MetricsRegistry()
    try registry.gauge(name: "v", help: "").set(value)
    return registry.sampleValue("v") ?? "<missing>"
}
