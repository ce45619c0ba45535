import ProcmgrHTTP
import ProcmgrMetrics
import ProcmgrSupport

/// Serves only `/metrics` (from a registry); the other endpoints are not measured.
struct SyntheticBackend: AgentBackend {
    let registry: MetricsRegistry

    var isReady: Bool { true }
    func writeMetrics(into buffer: inout [UInt8]) { registry.writeExposition(into: &buffer) }
    func processes() async -> [ProcessView] { [] }
    func process(id: String) async -> ProcessView? { nil }
    func logs(id: String, tail: Int) async -> [LogLineView]? { nil }
    func restart(id: String) async throws(AgentActionError) { throw .notFound(id: id) }
    func stop(id: String) async throws(AgentActionError) { throw .notFound(id: id) }
    func scale(id: String, replicas: Int) async throws(AgentActionError) { throw .notFound(id: id) }
    func reload() async throws(AgentActionError) {}
    func routes(host: String) async -> [String] { [] }
    let events: EventJournal
    func knowsProcess(id: String) async -> Bool { false }
    func logStream(id: String) async -> StreamRing<OutputLine>? { nil }
    func signal(id: String, signal: ProcessSignalName) async throws(AgentActionError) { throw .notFound(id: id) }
}
