@testable import ProcmgrHTTP
import Testing

@Suite("Who may mutate")
struct MutationPolicyTests {
    @Test("loopback listeners", arguments: ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"])
    func loopback(_ host: String) {
        #expect(LoopbackAddress.isLoopback(host: host))
    }

    @Test("listeners others can reach", arguments: ["0.0.0.0", "::", "[::]", "10.0.0.1", "192.168.1.10", "128.0.0.1", "126.255.255.255", "::2", "::ffff:10.0.0.1", "example.com", "localhost.example.com", ""])
    func notLoopback(_ host: String) {
        #expect(!LoopbackAddress.isLoopback(host: host))
    }

    @Test func tokenlessLoopbackAllowsEveryone() {
        let policy = MutationPolicy(host: "127.0.0.1", token: APIToken(nil))
        #expect(policy.decide(authorization: nil) == .allow)
        #expect(policy.decide(authorization: "Bearer anything") == .allow)
    }

    @Test("a tokenless non-loopback listener refuses, even with an Authorization header")
    func tokenlessNetworkListenerRefuses() {
        let policy = MutationPolicy(host: "0.0.0.0", token: APIToken(nil))
        #expect(policy.decide(authorization: nil) == .forbidden)
        #expect(policy.decide(authorization: "Bearer s3cret") == .forbidden)
    }

    @Test("an empty token counts as none")
    func emptyTokenIsNoToken() {
        #expect(MutationPolicy(host: "0.0.0.0", token: APIToken("")).decide(authorization: "Bearer ") == .forbidden)
        #expect(MutationPolicy(host: "127.0.0.1", token: APIToken("")).decide(authorization: nil) == .allow)
        #expect(!APIToken("").isConfigured)
    }

    @Test("a token is required on any listener once configured", arguments: ["127.0.0.1", "0.0.0.0"])
    func tokenRequired(_ host: String) {
        let policy = MutationPolicy(host: host, token: APIToken("s3cret"))
        #expect(policy.decide(authorization: "Bearer s3cret") == .allow)
        #expect(policy.decide(authorization: "bearer s3cret") == .allow)
        #expect(policy.decide(authorization: "  Bearer   s3cret  ") == .allow)
        #expect(policy.decide(authorization: nil) == .unauthorized)
        #expect(policy.decide(authorization: "") == .unauthorized)
        #expect(policy.decide(authorization: "Bearer") == .unauthorized)
        #expect(policy.decide(authorization: "Bearer ") == .unauthorized)
        #expect(policy.decide(authorization: "Basic s3cret") == .unauthorized)
        #expect(policy.decide(authorization: "Bearer s3cre") == .unauthorized)
        #expect(policy.decide(authorization: "Bearer s3cret2") == .unauthorized)
        #expect(policy.decide(authorization: "Bearer S3CRET") == .unauthorized)
        #expect(policy.decide(authorization: "Bearers3cret") == .unauthorized)
    }

    @Test("a replaced token is the only one accepted from then on")
    func rotatedToken() {
        let token = APIToken("old")
        let policy = MutationPolicy(host: "127.0.0.1", token: token)
        #expect(policy.decide(authorization: "Bearer old") == .allow)
        token.replace(with: "new")
        #expect(policy.decide(authorization: "Bearer old") == .unauthorized)
        #expect(policy.decide(authorization: "Bearer new") == .allow)
        token.replace(with: nil)
        #expect(policy.decide(authorization: nil) == .allow)
    }

    @Test("reading logs needs the token only on a non-loopback listener with a token configured")
    func logsPolicy() {
        #expect(MutationPolicy(host: "0.0.0.0", token: APIToken("s3cret")).decideRead(authorization: nil) == .unauthorized)
        #expect(MutationPolicy(host: "0.0.0.0", token: APIToken("s3cret")).decideRead(authorization: "Bearer nope") == .unauthorized)
        #expect(MutationPolicy(host: "0.0.0.0", token: APIToken("s3cret")).decideRead(authorization: "Bearer s3cret") == .allow)
        #expect(MutationPolicy(host: "127.0.0.1", token: APIToken("s3cret")).decideRead(authorization: nil) == .allow)
        #expect(MutationPolicy(host: "0.0.0.0", token: APIToken(nil)).decideRead(authorization: nil) == .allow)
    }

    @Test func tokenComparisonIsExact() {
        let token = BearerToken("abc")
        #expect(token.matches(Array("abc".utf8)))
        #expect(!token.matches(Array("abd".utf8)))
        #expect(!token.matches(Array("ab".utf8)))
        #expect(!token.matches(Array("abcabc".utf8)))
        #expect(!token.matches([UInt8]()))
        #expect(!BearerToken("").matches([UInt8]()))
    }
}
