import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ProcmgrSupport

/// The agent's HTTP server: Hummingbird's HTTP/1 server and router, run without the parts of
/// `Application.run()` an idle agent pays for and does not need.
///
/// `Application.run()` starts a `DateCache` service beside the server: a 1 Hz timer that
/// reformats the `Date` header every second, forever — most of an idle agent's CPU once
/// everything else sleeps on events. This type's `run()` is that method's request path (the
/// responder, a 500 for an error that escapes it, the `Date` header, one write per response)
/// and the request id in the logger's metadata, with ``HTTPDateHeader`` formatting the date
/// only when a response is written. Not carried over, because the agent uses neither:
/// `services` and `processesRunBeforeServerStart` (run them in the agent's `ServiceGroup`),
/// and the `Server` header (no `serverName` is set).
///
/// The child channel is ``GuardedHTTP1Channel`` (connection cap, idle timeout, JSON answers to
/// parser errors), given as ``server`` so HummingbirdTesting's live server uses it too.
///
/// It is still an `ApplicationProtocol`, so `HummingbirdTesting` can drive its router and
/// responder; the tests that run it as a service (`PrometheusScrapeTests`, the agent's) use
/// this `run()`. A failure to listen is thrown as ``ListenError``, naming the address.
struct AgentHTTPApplication<Responder: HTTPResponder>: ApplicationProtocol
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let host: String
    let port: Int
    var address: BindAddress { .hostname(host, port: port) }
    let logger: Logger
    let serverRunning: @Sendable (any Channel) async -> Void
    let idleTimeout: Duration
    let gate: ConnectionGate
    let metrics: HTTPMetrics?

    var server: HTTPServerBuilder {
        HTTPServerBuilder { [idleTimeout, gate, metrics] responder in
            GuardedHTTP1Channel(responder: responder, idleTimeout: idleTimeout, gate: gate, metrics: metrics)
        }
    }

    /// Hummingbird's view (HummingbirdTesting rebinds it to port 0); ``run()`` builds the
    /// server's from the same address.
    var configuration: ApplicationConfiguration { ApplicationConfiguration(address: address) }

    func onServerRunning(_ channel: any Channel) async {
        await serverRunning(channel)
    }

    /// Thrown when writing a response hits a parse error: any error but an `HTTPParserError`
    /// makes the channel handler close the connection without writing a second response.
    struct ParseErrorWhileWritingResponse: Error {}

    func run() async throws {
        let dates = HTTPDateHeader()
        let responder = self.responder
        let logger = self.logger
        let listening = LockedState(false)
        let server = try self.server.buildServer(
            configuration: ServerConfiguration(address: address),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        ) { (request, responseWriter: consuming ResponseWriter, channel) in
            // Hummingbird's `RequestContext.id` reads this metadata (and traps without it).
            var requestLogger = logger
            requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let context = Responder.Context(source: .init(channel: channel, logger: requestLogger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.debug("unhandled error in the responder", metadata: ["error": "\(error)"])
                response = Response(status: .internalServerError, body: .init())
            }
            response.headers[.date] = dates.current()
            do {
                try await responseWriter.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                throw ParseErrorWhileWritingResponse()
            }
        } onServerRunning: { channel in
            listening.withLock { $0 = true }
            await serverRunning(channel)
        }
        do {
            try await server.run()
        } catch where !listening.withLock({ $0 }) {
            throw ListenError(host: host, port: port, underlying: error)
        }
    }
}
