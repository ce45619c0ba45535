import Foundation
import Testing
@testable import ProcmgrConfig

/// The agent reloads config from several tasks (file watcher, admin poller,
/// API); loading must be safe to run concurrently and give the same result.
@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("parsing from many tasks at once gives identical models")
    func concurrentParsing() async throws {
        let expected = try Support.load(Fixtures.fullYAML, base: "/srv")
        let results = try await withThrowingTaskGroup(of: AgentConfig.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let text = index.isMultiple(of: 2) ? Fixtures.fullYAML : Fixtures.fullJSON
                    return try ConfigLoader.parse(data: Data(text.utf8), format: index.isMultiple(of: 2) ? .yaml : .json,
                                                  baseDirectory: "/srv")
                }
            }
            return try await group.reduce(into: [AgentConfig]()) { $0.append($1) }
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 == expected })
    }
}
