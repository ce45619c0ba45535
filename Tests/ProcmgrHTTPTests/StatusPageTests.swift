import Foundation
import Hummingbird
import HummingbirdTesting
@testable import ProcmgrHTTP
import Testing

/// `GET /`: the embedded page, its headers, and a Content-Security-Policy whose hashes are those
/// of the page's one inline script and one inline style (Chromium enforces them in
/// `scripts/browser-check.sh`; this catches a drift without a browser).
@Suite("The web status page", .timeLimit(.minutes(1)))
struct StatusPageTests {
    @Test("GET / serves the embedded page with no-cache, a strict CSP, nosniff and no framing")
    func servesThePage() async throws {
        try await withLiveServer { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-cache")
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            #expect(response.headers[try #require(HTTPFields.Element.Name("X-Frame-Options"))] == "DENY")
            let policy = try #require(response.headers[.contentSecurityPolicy])
            #expect(policy.hasPrefix("default-src 'self'; "))
            #expect(policy.contains("frame-ancestors 'none'"))
            #expect(!policy.contains("unsafe"))
            #expect(Array(response.body.readableBytesView) == EmbeddedResources.statusPage)
            let head = try await client.execute(uri: "/", method: .head)
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == String(EmbeddedResources.statusPage.count))
        }
    }

    @Test("the CSP hashes are those of the page's inline script and style")
    func hashesMatchThePage() throws {
        let page = String(decoding: EmbeddedResources.statusPage, as: UTF8.self)
        let script = try Self.onlyBlock("script", in: page)
        let style = try Self.onlyBlock("style", in: page)
        #expect(StatusPage.scriptHash == Self.cspHash(script), "paste into StatusPage.scriptHash")
        #expect(StatusPage.styleHash == Self.cspHash(style), "paste into StatusPage.styleHash")
        #expect(StatusPage.contentSecurityPolicy.contains("script-src '\(StatusPage.scriptHash)'"))
        #expect(StatusPage.contentSecurityPolicy.contains("style-src '\(StatusPage.styleHash)'"))
    }

    @Test("the page loads nothing from elsewhere and sets no inline handlers or style attributes")
    func selfContained() {
        let page = String(decoding: EmbeddedResources.statusPage, as: UTF8.self)
        for forbidden in ["http://", "https://", "<script src", "<link rel=\"stylesheet\"", " style=\"", " onclick=", "innerHTML", "EventSource("] {
            #expect(!page.contains(forbidden), "\(forbidden)")
        }
    }

    @Test("SHA-256 test vectors (FIPS 180-4)")
    func sha256() {
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            hex(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// The text between `<tag>` and `</tag>`, which must occur exactly once.
    private static func onlyBlock(_ tag: String, in page: String) throws -> String {
        let parts = page.components(separatedBy: "<\(tag)>")
        try #require(parts.count == 2, "the page must have exactly one inline <\(tag)>")
        let inner = parts[1].components(separatedBy: "</\(tag)>")
        try #require(inner.count == 2, "the page must have exactly one </\(tag)>")
        return inner[0]
    }

    private static func cspHash(_ text: String) -> String {
        "sha256-" + Data(SHA256.digest(Array(text.utf8))).base64EncodedString()
    }
}
