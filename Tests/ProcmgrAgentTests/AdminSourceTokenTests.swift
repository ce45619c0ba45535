import AsyncHTTPClient
import Foundation
import Testing
@testable import ProcmgrAgent

/// The token file's contents, and the messages an operator gets when it is wrong.
@Suite struct AdminSourceTokenTests {
    func token(in contents: String?) async throws -> Result<String?, AdminSourceError> {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/token"
        if let contents { try Data(contents.utf8).write(to: URL(fileURLWithPath: file)) }
        return try await withHTTPClient { client in
            let fetcher = AdminFetcher(url: URL(string: "http://127.0.0.1:1/")!, tokenFile: file, maxBodyBytes: 1, client: client)
            return Result { () throws(AdminSourceError) in try fetcher.bearerToken() }
        }
    }

    @Test func trailingNewlineIsTrimmed() async throws {
        #expect(try await token(in: "s3cr3t\n").get() == "s3cr3t")
    }

    @Test(arguments: [
        (nil, "does not exist"),
        ("\n", "is empty"),
        ("two words", "one line of printable ASCII"),
        ("line\nbreak", "one line of printable ASCII"),
    ] as [(String?, String)])
    func badTokenFilesAreExplained(contents: String?, message: String) async throws {
        guard case .failure(let error) = try await token(in: contents) else {
            Issue.record("accepted \(String(describing: contents))")
            return
        }
        #expect(error.code == .token)
        #expect(error.message.contains("admin.token_file"))
        #expect(error.message.contains(message), "\(error.message)")
    }
}
