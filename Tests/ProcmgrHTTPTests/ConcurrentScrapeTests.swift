import Hummingbird
import HummingbirdTesting
import NIOCore
import ProcmgrHTTP
import ProcmgrMetrics
import Synchronization
import Testing

@Suite("Concurrent scrapes", .timeLimit(.minutes(2)))
struct ConcurrentScrapeTests {
    /// Each scrape writes the live registry between two markers carrying its
    /// own scrape number. If two scrapes ever shared a buffer or a deflate
    /// stream, a body would mix numbers, lose its end marker or fail to inflate.
    final class MarkedBackend: Sendable {
        let registry: MetricsRegistry
        let scrapes = Atomic<Int>(0)

        init(registry: MetricsRegistry) {
            self.registry = registry
        }

        func write(into buffer: inout [UInt8]) {
            let number = scrapes.add(1, ordering: .relaxed).newValue
            buffer.append(contentsOf: "scrape_begin \(number)\n".utf8)
            registry.writeExposition(into: &buffer)
            buffer.append(contentsOf: "scrape_end \(number)\n".utf8)
        }
    }

    final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }

    /// The scrape number of a well-formed marked body.
    static func scrapeNumber(of text: String) throws -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "", "body does not end with a newline")
        let first = try #require(lines.first)
        let last = try #require(lines.dropLast().last)
        #expect(first.hasPrefix("scrape_begin "))
        let number = try #require(Int(first.dropFirst("scrape_begin ".count)))
        #expect(last == "scrape_end \(number)")
        for line in lines.dropFirst().dropLast(2) {
            #expect(!line.hasPrefix("scrape_"), "another scrape's marker inside scrape \(number)")
            #expect(line.hasPrefix("#") || line.hasPrefix("churn_"), "stray line \(line)")
        }
        return number
    }

    @Test("two clients scraping while the registry changes each get their own intact body")
    func concurrentScrapes() async throws {
        let registry = MetricsRegistry()
        let family = try registry.gaugeFamily(name: "churn_series", help: "Series that come and go.", labelNames: ["n"])
        let counter = try registry.counter(name: "churn_total", help: "Always moving.")
        for index in 0..<2000 { family.labels(String(index)).set(Double(index)) }
        let marked = MarkedBackend(registry: registry)
        let backend = FakeBackend { marked.write(into: &$0) }
        let rounds = 40

        try await withLiveServer(backend: backend) { client in
            let done = StopFlag()
            try await withThrowingTaskGroup(of: [Int].self) { group in
                group.addTask {  // mutate the registry for as long as the scrapes run
                    var index = 0
                    while !done.isSet {
                        family.labels(String(2000 + index % 500)).set(Double(index))
                        if index % 3 == 0 { family.remove(String(2000 + (index / 3) % 500)) }
                        counter.increment()
                        index += 1
                        if index % 64 == 0 { await Task.yield() }
                    }
                    return []
                }
                for encoding in ["gzip", "identity"] {
                    group.addTask {
                        try await withExtraConnection(to: client) { connection in
                            var seen: [Int] = []
                            for _ in 0..<rounds {
                                let response = try await connection.get("/metrics", headers: [.acceptEncoding: encoding])
                                let body = try #require(response.body)
                                let text = encoding == "gzip" ? try gunzip(body) : String(buffer: body)
                                #expect(response.headers[.contentEncoding] == (encoding == "gzip" ? "gzip" : nil))
                                seen.append(try Self.scrapeNumber(of: text))
                            }
                            return seen
                        }
                    }
                }
                var numbers: [Int] = []
                for _ in 0..<2 {
                    numbers += try await group.next() ?? []
                }
                done.set()
                numbers += try await group.next() ?? []
                #expect(numbers.count == 2 * rounds)
                #expect(Set(numbers).count == numbers.count, "two responses carried the same scrape")
            }
        }
    }
}
