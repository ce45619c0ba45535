import Foundation
import ProcmgrMetrics

/// The admin source's metric families.
///
/// All three `result` series exist from the start (at 0) so `rate()` and `increase()` work from
/// the first scrape, and an alert on `procmgr_admin_fetches_total{result="error"}` needs no
/// `absent()` guard. `last_success_timestamp` lets an alert say how long the service has been
/// unreachable, which the error counter alone cannot.
struct AdminSourceMetrics: Sendable {
    private let changed: Counter
    private let unchanged: Counter
    private let error: Counter
    private let lastSuccess: Gauge

    init(registry: MetricsRegistry) throws(MetricsRegistryError) {
        let fetches = try registry.counterFamily(
            name: "procmgr_admin_fetches_total",
            help: "Polls of the admin service by result: changed (a new body was delivered), unchanged (304 or the same body), error.",
            labelNames: ["result"])
        changed = fetches.labels("changed")
        unchanged = fetches.labels("unchanged")
        error = fetches.labels("error")
        lastSuccess = try registry.gauge(
            name: "procmgr_admin_last_success_timestamp_seconds",
            help: "Unix time of the admin service's last successful answer (200 or 304).")
    }

    func fetchedChanged() {
        changed.increment()
        lastSuccess.set(Date().timeIntervalSince1970)
    }

    func fetchedUnchanged() {
        unchanged.increment()
        lastSuccess.set(Date().timeIntervalSince1970)
    }

    func failed() { error.increment() }
}
