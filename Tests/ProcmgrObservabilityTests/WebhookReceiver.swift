import Foundation
import Hummingbird
import Logging
import NIOCore
import ProcmgrTestKit
import ServiceLifecycle
import Synchronization

/// Alertmanager's webhook receiver: a Hummingbird server on a loopback port that records every
/// alert it is sent, with the path (receiver) and the moment it arrived.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let path: String
        let labels: [String: String]
        let annotations: [String: String]
        let status: String
        let receivedAt: Double
    }

    private let deliveries = Mutex<[Delivery]>([])

    var all: [Delivery] { deliveries.withLock { $0 } }

    func makeApplication(onPort: @escaping @Sendable (Int) -> Void) -> some Service {
        let router = Router()
        for path in ["/page", "/ticket"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                self.record(path: path, body: Data(body.readableBytesView))
                return Response(status: .ok)
            }
        }
        var logger = Logger(label: "webhook")
        logger.logLevel = .warning
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in onPort(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    private func record(path: String, body: Data) {
        let receivedAt = Date().timeIntervalSince1970
        guard let payload = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return }
        let alerts = (payload["alerts"] as? [[String: Any]] ?? []).map {
            Delivery(path: path, labels: $0["labels"] as? [String: String] ?? [:],
                     annotations: $0["annotations"] as? [String: String] ?? [:],
                     status: $0["status"] as? String ?? "?", receivedAt: receivedAt)
        }
        deliveries.withLock { $0 += alerts }
    }

    /// The first firing delivery of `alertname` for `process`, waiting up to `timeout`.
    func waitFor(_ alertname: String, process: String, timeout: Duration) async throws -> Delivery {
        var found: Delivery?
        try await eventually("Alertmanager to deliver \(alertname){process=\"\(process)\"} to the webhook", timeout: timeout, every: .milliseconds(50)) {
            found = all.first { $0.labels["alertname"] == alertname && $0.labels["process"] == process && $0.status == "firing" }
            return found != nil
        }
        guard let found else { throw TestFailure("\(alertname) found but lost") }
        return found
    }
}
