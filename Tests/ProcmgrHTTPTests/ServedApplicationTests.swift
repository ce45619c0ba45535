import Foundation
import Hummingbird
import NIOCore
@testable import ProcmgrHTTP
import ProcmgrMetrics
import ServiceLifecycle
import Testing

@Suite("The Date header, formatted on demand")
struct HTTPDateHeaderTests {
    @Test("IMF-fixdate in UTC for known instants (RFC 9110's own example among them)")
    func knownInstants() {
        #expect(HTTPDateHeader.format(unixSecond: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateHeader.format(unixSecond: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateHeader.format(unixSecond: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDateHeader.format(unixSecond: 1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
    }

    @Test("one value per second: a new second gives a new value, the same second the cached one")
    func cachedPerSecond() {
        let header = HTTPDateHeader()
        #expect(header.value(atUnixSecond: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(header.value(atUnixSecond: 784_111_778) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(header.value(atUnixSecond: 784_111_778) == "Sun, 06 Nov 1994 08:49:38 GMT")
        #expect(header.value(atUnixSecond: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT", "going back (clock step) is not stuck on the cache")
    }
}

/// The agent's own `run()` (not HummingbirdTesting's wrapper) serving real connections.
@Suite("The agent's HTTP service as it runs in the agent", .timeLimit(.minutes(1)))
struct ServedApplicationTests {
    @Test("responses carry a current Date header; a malformed request gets 400 and the server keeps serving")
    func servesWithDate() async throws {
        try await withServedAPI { port in
            let before = Int(Date().timeIntervalSince1970)
            let healthy = try await rawExchange(port: port, sending: Array("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            let after = Int(Date().timeIntervalSince1970)
            #expect(healthy.hasPrefix("HTTP/1.1 200"), "\(healthy)")
            let date = try #require(header("date", in: healthy), "\(healthy)")
            let acceptable = Set((before...after).map(HTTPDateHeader.format(unixSecond:)))
            #expect(acceptable.contains(date), "Date \(date) is not between \(before) and \(after)")

            let missing = try await rawExchange(port: port, sending: Array("GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            #expect(missing.hasPrefix("HTTP/1.1 404"), "\(missing)")
            #expect(header("date", in: missing) != nil)
            #expect(missing.contains("\"error\""))

            let garbage = try await rawExchange(port: port, sending: Array("NOT HTTP AT ALL\r\n\r\n".utf8))
            #expect(garbage.hasPrefix("HTTP/1.1 400"), "\(garbage)")

            let again = try await rawExchange(port: port, sending: Array("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
            #expect(again.hasPrefix("HTTP/1.1 200"), "still serving: \(again)")
        }
    }

    private func header(_ name: String, in response: String) -> String? {
        for line in response.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
