import AsyncHTTPClient
import Foundation
import NIOCore
import ProcmgrHTTP

/// Follows one Server-Sent Events route of the agent (`/api/v1/events`, a followed log) for as
/// long as the operator wants, through dropped connections.
///
/// A connection that ends or breaks is re-opened with `Last-Event-ID` set to the last id
/// received, after a pause that starts at the agent's `retry:` and doubles up to
/// ``maxDelay``; after ``maxAttempts`` reconnections in a row that bring nothing, the agent is
/// taken to be gone (``ClientExitCode/unreachable``); a 5xx answer to a reconnection counts as
/// nothing brought. The first connection is not retried: an
/// agent that is not there at all is reported at once. The agent's `missed` (a resume older than
/// its history) and `dropped` (this client was too slow) events are warnings on stderr.
struct EventStreamFollower {
    let client: AgentClient
    /// The route of the first connection (e.g. with `tail=`).
    let firstPath: String
    /// The route of a resumed connection (the `Last-Event-ID` header says where from).
    let resumePath: String
    var lastEventID: String?

    /// With the agent's `retry: 1000`: 1 + 2 + 4 + 4 + 4 s, long enough for an agent to be
    /// restarted, short enough for a script to learn that it is gone.
    static let maxAttempts = 5
    static let maxDelay: Duration = .seconds(4)

    /// Calls `deliver` with every batch of events as it arrives; returns only by throwing.
    mutating func run(deliver: ([ServerSentEvent]) throws -> Void) async throws -> Never {
        var retry = Duration.milliseconds(1000)
        var fruitless = 0
        var connected = false
        while true {
            do {
                let path = lastEventID == nil ? firstPath : resumePath
                let body = try await client.openStream(path, lastEventID: lastEventID)
                connected = true
                if try await read(body, retry: &retry, deliver: deliver) { fruitless = 0 }
            } catch let failure as ClientFailure where connected && (failure.code == .unreachable || (failure.httpStatus ?? 0) >= 500) {
                // Gone or unwell while the agent restarts: try again below.
            }
            fruitless += 1
            guard fruitless <= Self.maxAttempts else {
                throw ClientFailure(code: .unreachable, message:
                    "lost the event stream of the agent at \(client.endpoint.baseURL) and \(Self.maxAttempts) reconnections brought nothing")
            }
            let delay = min(retry * (1 << min(fruitless - 1, 10)), Self.maxDelay)
            ClientOutput.warn("the stream from \(client.endpoint.baseURL) ended; reconnecting in \(delay)"
                + (lastEventID.map { " from event \($0)" } ?? ""))
            try await Task.sleep(for: delay)
        }
    }

    /// Reads one connection until it ends; whether it brought any event.
    private mutating func read(
        _ body: HTTPClientResponse.Body, retry: inout Duration, deliver: ([ServerSentEvent]) throws -> Void
    ) async throws -> Bool {
        var parser = ServerSentEventParser(lastEventID: lastEventID ?? "")
        var received = false
        do {
            for try await chunk in body {
                let events: [ServerSentEvent]
                do {
                    events = try parser.feed(chunk.readableBytesView)
                } catch {
                    throw ClientFailure(code: .failure, message: "the agent at \(client.endpoint.baseURL) sent a broken event stream: \(error)")
                }
                if let milliseconds = parser.reconnectionTime { retry = .milliseconds(max(milliseconds, 100)) }
                if !parser.lastEventID.isEmpty { lastEventID = parser.lastEventID }
                guard !events.isEmpty else { continue }
                received = true
                try deliver(events.filter(Self.isPayload))
            }
        } catch let failure as ClientFailure {
            throw failure
        } catch {
            ClientOutput.warn("lost the connection to \(client.endpoint.baseURL): \(error)")
        }
        return received
    }

    /// `missed` and `dropped` are about the stream itself: warnings, not payload.
    private static func isPayload(_ event: ServerSentEvent) -> Bool {
        switch event.type {
        case "missed":
            ClientOutput.warn(noticeMessage(event.data) ?? "some events are no longer kept and were missed")
            return false
        case "dropped":
            ClientOutput.warn("the agent dropped this stream (too slow a reader): " + (noticeMessage(event.data) ?? event.data))
            return false
        default:
            return true
        }
    }

    /// The `message` of a `missed` or `dropped` event's JSON.
    private static func noticeMessage(_ data: String) -> String? {
        struct Notice: Decodable { let message: String }
        return (try? JSONDecoder().decode(Notice.self, from: Data(data.utf8)))?.message
    }
}
