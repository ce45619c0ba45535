public import ProcmgrMetrics
public import ProcmgrSupport

/// Where the agent publishes lifecycle events: numbers them, keeps the last `capacity` for
/// clients resuming with `Last-Event-ID`, hands each to the live `GET /api/v1/events` streams
/// (a ``StreamRing``: a stream that falls behind is dropped, never waited for), and counts it in
/// `procmgr_events_total{type}`.
public final class EventJournal: Sendable {
    /// Events kept for resuming: at a restart storm of 1,000 processes (three events per restart)
    /// a client away for a second still resumes without a gap.
    public static let defaultCapacity = 4_096
    /// Events one stream may have waiting before it is dropped.
    public static let defaultSubscriberBuffer = 1_024

    public let ring: StreamRing<AgentEvent>
    private let counts: [AgentEventType: Counter]

    /// - Parameters:
    ///   - registry: where `procmgr_events_total` lives (nil: not counted, e.g. in a benchmark's backend).
    ///   - firstID: the first event's id; the agent uses ``StreamRing/epochID()`` so ids keep
    ///     increasing across its restarts.
    public init(
        capacity: Int = EventJournal.defaultCapacity, subscriberBuffer: Int = EventJournal.defaultSubscriberBuffer,
        registry: MetricsRegistry?, firstID: UInt64 = 1
    ) throws(MetricsRegistryError) {
        ring = StreamRing(capacity: capacity, subscriberBuffer: subscriberBuffer, firstID: firstID)
        var counts: [AgentEventType: Counter] = [:]
        if let registry {
            let family = try registry.counterFamily(
                name: "procmgr_events_total",
                help: "Events published on /api/v1/events, by type (every type a client can see is counted here).",
                labelNames: ["type"])
            for type in AgentEventType.allCases { counts[type] = family.labels(type.rawValue) }
        }
        self.counts = counts
    }

    /// Numbers `event`, stores it, delivers it to every stream and counts it; returns it with its id.
    @discardableResult
    public func publish(_ event: AgentEvent) -> AgentEvent {
        var event = event
        let entry = ring.appendNumbered { id in
            event.id = id
            return event
        }
        counts[event.type]?.increment()
        return entry.element
    }
}
