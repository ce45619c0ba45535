import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport

/// What publishing a lifecycle event costs the path that publishes it (a restart, a state
/// transition): ``EventJournal/publish(_:)`` with the event built as the agent builds one (a
/// formatted message), with no stream open and with 100 streams following and draining (with the
/// agent's buffer per stream: a stream that falls behind is dropped, and the drops are shown). A
/// restart publishes about four events (exit, restart, ready false/true), so the figure times
/// four is what events add to each restart of a storm.
enum EventBenchmarks {
    static let publishes = 200_000
    static let followers = 100

    static func run() async {
        let quiet = await measure(repetitions: 5) { _ = await publishAll(followers: 0) }
        let dropped = LockedCount()
        let followed = await measure(repetitions: 5) { dropped.add(await publishAll(followers: followers)) }
        let perPublish = { (sample: Sample) in Sample(values: sample.values.map { $0 / Double(publishes) * 1e9 }) }
        print("event publish (ns per event, \(publishes) events; min/median/max of 5)")
        print("  no stream: \(perPublish(quiet))    \(followers) draining streams: \(perPublish(followed)) (streams dropped for falling behind: \(dropped.value) of \(5 * followers))")
    }

    /// Returns how many followers were dropped.
    private static func publishAll(followers: Int) async -> Int {
        guard let journal = try? EventJournal(registry: MetricsRegistry()) else { return 0 }
        return await withTaskGroup(of: Int.self) { group in
            let subscriptions = (0..<followers).map { _ in journal.ring.subscribe(after: nil).subscription }
            for subscription in subscriptions {
                group.addTask {
                    while let delivery = await subscription.next() {
                        if case .overflowed = delivery { return 1 }
                    }
                    return 0
                }
            }
            for index in 0..<publishes {
                let process = "p\(index % 1_000)"
                var event = AgentEvent(type: .restart, process: process, message: "\(process): restarting (reason: exit); restart \(index)")
                event.reason = "exit"
                event.restarts = index
                journal.publish(event)
            }
            for subscription in subscriptions { subscription.cancel() }
            return await group.reduce(0, +)
        }
    }
}

/// A counter the measured closure can add to.
private final class LockedCount: Sendable {
    private let count = LockedState(0)

    func add(_ value: Int) { count.withLock { $0 += value } }

    var value: Int { count.withLock { $0 } }
}
