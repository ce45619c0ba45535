import ProcmgrHTTP
import Testing

@Suite("Accept-Encoding negotiation")
struct AcceptEncodingTests {
    @Test("gzip when it is acceptable and weighs at least as much as identity", arguments: [
        "gzip",
        "GZip",
        "gzip, deflate, br",
        "deflate, gzip;q=1.0, *;q=0.5",
        "*",
        "x-gzip",
        "gzip;q=0.5",
        "gzip;q=0.5, identity;q=0.5",
        "identity;q=0.5, gzip;q=0.9",
        "identity;q=0, gzip",
        "*;q=0.5, gzip",
        " gzip ; q = 0.8 ",
        "gzip;level=1",
        "br, gzip;q=0.001",
        "gzip;q=1.000",
        "foo;q=bar, gzip",
    ])
    func gzip(_ header: String) {
        #expect(AcceptEncoding.prefersGzip(header))
    }

    @Test("identity otherwise", arguments: [
        "",
        "identity",
        "gzip;q=0",
        "gzip;q=0.000",
        "GZIP;Q=0",
        "gzip;q=0.5, identity;q=0.9",
        "identity;q=0.9, gzip;q=0.5",
        "*, gzip;q=0",
        "gzip;q=0, *",
        "*;q=0",
        "*;q=0.5, identity",
        "deflate, br",
        "identity;q=0, deflate",
        "gzip;q=1.5",
        "gzip;q=-1",
        "gzip;q=nan",
        "gzip;q=0.1234",
        "gzip;q=",
        "gzipx",
        ",,,",
    ])
    func identity(_ header: String) {
        #expect(!AcceptEncoding.prefersGzip(header))
    }

    @Test func noHeaderMeansIdentity() {
        #expect(!AcceptEncoding.prefersGzip(nil))
    }

    @Test("the first entry for a coding counts")
    func firstEntryWins() {
        #expect(!AcceptEncoding.prefersGzip("gzip;q=0, gzip"))
        #expect(AcceptEncoding.prefersGzip("gzip, gzip;q=0"))
    }
}
